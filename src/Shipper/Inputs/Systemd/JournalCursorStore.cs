using System.Text;
using Gateway.Shipper.State;

namespace Gateway.Shipper.Inputs.Systemd;

/// <summary>
/// The systemd input's <c>DB</c>: the cursor of the last acknowledged journal entry. Fluent Bit keeps it in a
/// SQLite table; here it is one small file replaced atomically (write a temp file, optionally fsync, rename), so a
/// crash at any point leaves either the old cursor or the new one, never a torn one.
/// </summary>
internal sealed class JournalCursorStore
{
    private static readonly byte[] Magic = "GWJOURNALCURSOR1\n"u8.ToArray();
    private readonly object _gate = new();
    private readonly OffsetSyncMode _sync;
    private string? _cursor;

    private JournalCursorStore(string path, OffsetSyncMode sync, string? cursor)
    {
        Path = path;
        _sync = sync;
        _cursor = cursor;
    }

    public string Path { get; }

    /// <summary>The stored cursor, or null when nothing was acknowledged yet.</summary>
    public string? Cursor
    {
        get
        {
            lock (_gate)
            {
                return _cursor;
            }
        }
    }

    /// <summary>Opens the store, creating its directory; a file that is not a cursor store is an error.</summary>
    /// <exception cref="InvalidDataException">The file exists but is not a cursor store.</exception>
    public static JournalCursorStore Open(string path, OffsetSyncMode sync)
    {
        var full = System.IO.Path.GetFullPath(path);
        var dir = System.IO.Path.GetDirectoryName(full);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        string? cursor = null;
        if (File.Exists(full))
        {
            var bytes = File.ReadAllBytes(full);
            if (bytes.Length > 0)
            {
                if (!bytes.AsSpan().StartsWith(Magic))
                {
                    throw new InvalidDataException($"{full} is not a systemd cursor DB written by the shipper (a Fluent Bit SQLite DB cannot be read; point DB at a new file)");
                }

                var text = Encoding.UTF8.GetString(bytes.AsSpan(Magic.Length)).TrimEnd('\n');
                cursor = text.Length == 0 ? null : text;
            }
        }

        return new JournalCursorStore(full, sync, cursor);
    }

    /// <summary>Replaces the stored cursor.</summary>
    public void Save(string cursor)
    {
        ArgumentException.ThrowIfNullOrEmpty(cursor);
        lock (_gate)
        {
            var temp = Path + ".tmp";
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1))
            {
                stream.Write(Magic);
                stream.Write(Encoding.UTF8.GetBytes(cursor + "\n"));
                if (_sync == OffsetSyncMode.Full)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            File.Move(temp, Path, overwrite: true);
            _cursor = cursor;
        }
    }
}
