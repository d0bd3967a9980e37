using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.State;

/// <summary>How hard the offsets store pushes writes to disk, as Fluent Bit's <c>DB.sync</c>.</summary>
public enum OffsetSyncMode
{
    /// <summary>Leave writes to the OS page cache (<c>off</c>).</summary>
    Off,

    /// <summary>Flush to the OS after every commit; a process crash loses nothing, a power loss may (<c>normal</c>, the default).</summary>
    Normal,

    /// <summary>fsync after every commit (<c>full</c> / <c>extra</c>).</summary>
    Full,
}

/// <summary>One committed position: the file (by identity), how far it was delivered, and its name for humans.</summary>
public readonly record struct TailOffsetEntry(FileIdentity Identity, long Offset, string Name);

/// <summary>
/// The tail offsets database (<c>DB</c>). Fluent Bit uses SQLite; here it is an append-only log of checksummed
/// records, which is crash-safe without a SQL engine: a torn last record (crash mid-write) fails its checksum and
/// is ignored, every earlier record is intact. On open the log is replayed and compacted into a fresh file
/// (temp file + fsync + rename), and it is compacted again when it grows well past the number of live entries.
/// </summary>
/// <remarks>
/// Record layout: <c>u32 payload length, u32 CRC-32 of payload, payload</c>; payload is
/// <c>u8 kind (1 set, 2 remove), u64 device, u64 inode, i64 offset, u16 name length, name (UTF-8)</c>.
/// All integers little-endian.
/// </remarks>
internal sealed class TailOffsetStore : IDisposable
{
    private const byte KindSet = 1;
    private const byte KindRemove = 2;
    private const int HeaderSize = 8;
    private const int FixedPayloadSize = 1 + 8 + 8 + 8 + 2;
    private const int MaxNameBytes = 4096;
    private static readonly byte[] Magic = "GWTAILDB1\n"u8.ToArray();

    private readonly object _gate = new();
    private readonly Dictionary<FileIdentity, TailOffsetEntry> _entries = new();
    private readonly string _path;
    private readonly OffsetSyncMode _sync;
    private readonly ILogger _logger;
    private FileStream _log;
    private int _appendedSinceCompaction;
    private bool _disposed;

    private TailOffsetStore(string path, OffsetSyncMode sync, ILogger logger)
    {
        _path = path;
        _sync = sync;
        _logger = logger;
        Load();
        _log = Compact();
    }

    public string Path => _path;

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>Opens (or creates) the store, replaying and compacting the existing log.</summary>
    public static TailOffsetStore Open(string path, OffsetSyncMode sync, ILogger logger)
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        if (IsForeignFile(path))
        {
            // Most likely Fluent Bit's SQLite DB from before the migration: leave it untouched (a rollback
            // still needs it) and keep our offsets beside it.
            var ours = path + ".gateway";
            OffsetStoreLog.ForeignFileKept(logger, path, ours);
            path = ours;
        }

        return new TailOffsetStore(path, sync, logger);
    }

    private static bool IsForeignFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        Span<byte> head = stackalloc byte[Magic.Length];
        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        return n > 0 && !head[..n].SequenceEqual(Magic.AsSpan(0, n));
    }

    public bool TryGet(FileIdentity identity, out TailOffsetEntry entry)
    {
        lock (_gate)
        {
            return _entries.TryGetValue(identity, out entry);
        }
    }

    public List<TailOffsetEntry> Snapshot()
    {
        lock (_gate)
        {
            return new List<TailOffsetEntry>(_entries.Values);
        }
    }

    public void Set(FileIdentity identity, long offset, string name)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.TryGetValue(identity, out var existing) && existing.Offset == offset && existing.Name == name)
            {
                return;
            }

            var entry = new TailOffsetEntry(identity, offset, name);
            _entries[identity] = entry;
            Append(KindSet, entry);
        }
    }

    public void Remove(FileIdentity identity)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_entries.Remove(identity, out var entry))
            {
                Append(KindRemove, entry with { Name = string.Empty });
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _log.Flush(flushToDisk: _sync == OffsetSyncMode.Full);
            _log.Dispose();
        }
    }

    private void Append(byte kind, TailOffsetEntry entry)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderSize + FixedPayloadSize + MaxNameBytes);
        try
        {
            var length = Encode(buffer, kind, entry);
            _log.Write(buffer, 0, length);
            if (_sync != OffsetSyncMode.Off)
            {
                _log.Flush(flushToDisk: _sync == OffsetSyncMode.Full);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        _appendedSinceCompaction++;
        if (_appendedSinceCompaction > Math.Max(4096, _entries.Count * 8))
        {
            _log.Dispose();
            _log = Compact();
        }
    }

    private static int Encode(Span<byte> destination, byte kind, TailOffsetEntry entry)
    {
        var name = entry.Name;
        var nameBytes = Encoding.UTF8.GetByteCount(name);
        if (nameBytes > MaxNameBytes)
        {
            // The name is only for humans; the identity is the key, so a cut name loses nothing.
            name = name[^(MaxNameBytes / 4)..];
            nameBytes = Encoding.UTF8.GetByteCount(name);
        }

        var payload = destination.Slice(HeaderSize, FixedPayloadSize + nameBytes);
        payload[0] = kind;
        BinaryPrimitives.WriteUInt64LittleEndian(payload[1..], entry.Identity.Device);
        BinaryPrimitives.WriteUInt64LittleEndian(payload[9..], entry.Identity.Inode);
        BinaryPrimitives.WriteInt64LittleEndian(payload[17..], entry.Offset);
        BinaryPrimitives.WriteUInt16LittleEndian(payload[25..], (ushort)nameBytes);
        Encoding.UTF8.GetBytes(name, payload[FixedPayloadSize..]);
        BinaryPrimitives.WriteUInt32LittleEndian(destination, (uint)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], Crc32.Compute(payload));
        return HeaderSize + payload.Length;
    }

    private void Load()
    {
        if (!File.Exists(_path))
        {
            return;
        }

        var data = File.ReadAllBytes(_path);
        if (data.Length < Magic.Length)
        {
            // A crash while the very first compaction's rename was not yet durable: nothing was committed.
            return;
        }

        var pos = Magic.Length;
        var records = 0;
        while (pos < data.Length)
        {
            if (!TryDecode(data.AsSpan(pos), out var kind, out var entry, out var consumed))
            {
                OffsetStoreLog.TornTailIgnored(_logger, _path, pos, data.Length - pos);
                break;
            }

            if (kind == KindSet)
            {
                _entries[entry.Identity] = entry;
            }
            else
            {
                _entries.Remove(entry.Identity);
            }

            pos += consumed;
            records++;
        }

        OffsetStoreLog.Loaded(_logger, _path, records, _entries.Count);
    }

    private static bool TryDecode(ReadOnlySpan<byte> data, out byte kind, out TailOffsetEntry entry, out int consumed)
    {
        kind = 0;
        entry = default;
        consumed = 0;
        if (data.Length < HeaderSize)
        {
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(data);
        if (length < FixedPayloadSize || length > FixedPayloadSize + MaxNameBytes || data.Length - HeaderSize < length)
        {
            return false;
        }

        var payload = data.Slice(HeaderSize, (int)length);
        if (Crc32.Compute(payload) != BinaryPrimitives.ReadUInt32LittleEndian(data[4..]))
        {
            return false;
        }

        kind = payload[0];
        var nameLength = BinaryPrimitives.ReadUInt16LittleEndian(payload[25..]);
        if ((kind != KindSet && kind != KindRemove) || FixedPayloadSize + nameLength != length)
        {
            return false;
        }

        entry = new TailOffsetEntry(
            new FileIdentity(BinaryPrimitives.ReadUInt64LittleEndian(payload[1..]), BinaryPrimitives.ReadUInt64LittleEndian(payload[9..])),
            BinaryPrimitives.ReadInt64LittleEndian(payload[17..]),
            Encoding.UTF8.GetString(payload.Slice(FixedPayloadSize, nameLength)));
        consumed = HeaderSize + (int)length;
        return true;
    }

    /// <summary>Writes the live entries to a temp file, makes it durable, renames it over the log, reopens for append.</summary>
    private FileStream Compact()
    {
        var temp = _path + ".tmp";
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderSize + FixedPayloadSize + MaxNameBytes);
        try
        {
            using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                fs.Write(Magic);
                foreach (var entry in _entries.Values)
                {
                    var n = Encode(buffer, KindSet, entry);
                    fs.Write(buffer, 0, n);
                }

                fs.Flush(flushToDisk: true);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        File.Move(temp, _path, overwrite: true);
        _appendedSinceCompaction = 0;
        var log = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.Read, bufferSize: 4096);
        return log;
    }
}

/// <summary>CRC-32 (IEEE 802.3, reflected 0xEDB88320), table-driven; enough for torn-write detection.</summary>
internal static class Crc32
{
    private static readonly uint[] Table = BuildTable();

    public static uint Compute(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        }

        return ~crc;
    }

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}

internal static partial class OffsetStoreLog
{
    [LoggerMessage(EventId = 2050, Level = LogLevel.Warning, Message = "Offsets DB {Path}: ignored {Bytes} bytes of a torn or corrupt record at byte {Position} (a crash during a write); earlier offsets are intact")]
    public static partial void TornTailIgnored(ILogger logger, string path, int position, int bytes);

    [LoggerMessage(EventId = 2051, Level = LogLevel.Warning, Message = "Offsets DB {Path} is not a Gateway offsets file (Fluent Bit's SQLite DB?); leaving it untouched and keeping offsets in {OurPath}")]
    public static partial void ForeignFileKept(ILogger logger, string path, string ourPath);

    [LoggerMessage(EventId = 2052, Level = LogLevel.Debug, Message = "Offsets DB {Path}: replayed {Records} records, {Entries} files tracked")]
    public static partial void Loaded(ILogger logger, string path, int records, int entries);
}
