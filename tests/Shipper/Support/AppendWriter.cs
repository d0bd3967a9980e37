using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Gateway.Shipper.Tests.Support;

/// <summary>
/// Writes numbered lines the way container runtimes do: through an O_APPEND descriptor (so after a copytruncate
/// writes land at the new end, not at the old position), keeping the descriptor across renames.
/// </summary>
internal sealed partial class AppendWriter : IDisposable
{
    private const int OWronly = 0x1;
    private const int OCreat = 0x40;
    private const int OAppend = 0x400;

    private readonly StringBuilder _batch = new();
    private SafeFileHandle _handle;

    public AppendWriter(string path)
    {
        _handle = Open(path);
    }

    /// <summary>Sequence number of the last line written.</summary>
    public int Written { get; private set; }

    /// <summary>The line for a sequence number: parseable back with <see cref="SequenceOf"/>.</summary>
    public static string Line(int seq) => $"seq={seq:D7} the quick brown fox jumps over the lazy dog {seq % 997:D3}";

    public static int SequenceOf(string text)
    {
        var at = text.IndexOf("seq=", StringComparison.Ordinal);
        return int.Parse(text.AsSpan(at + 4, 7), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Appends <paramref name="count"/> lines, in batches of up to 200 lines per write(2).</summary>
    public void WriteLines(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Written++;
            _batch.Append(Line(Written)).Append('\n');
            if (_batch.Length >= 16 * 1024)
            {
                Flush();
            }
        }

        Flush();
    }

    /// <summary>Closes the current descriptor and opens (creating) <paramref name="path"/>, as a reopening logger does.</summary>
    public void Reopen(string path)
    {
        Flush();
        _handle.Dispose();
        _handle = Open(path);
    }

    public void Dispose()
    {
        Flush();
        _handle.Dispose();
    }

    private void Flush()
    {
        if (_batch.Length == 0)
        {
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(_batch.ToString());
        _batch.Clear();

        // pwrite on an O_APPEND descriptor appends whatever offset is given (Linux), which is what we want.
        RandomAccess.Write(_handle, bytes, 0);
    }

    private static SafeFileHandle Open(string path)
    {
        var fd = OpenNative(path, OWronly | OCreat | OAppend, Convert.ToInt32("644", 8));
        if (fd < 0)
        {
            throw new IOException($"open {path} failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return new SafeFileHandle(fd, ownsHandle: true);
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int OpenNative(string path, int flags, int mode);
}
