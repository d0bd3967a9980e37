using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Text;

namespace Gateway.Aggregator.Buffer;

/// <summary>
/// CRC-32C (Castagnoli) on the CPU's CRC instruction via <see cref="BitOperations.Crc32C(uint, ulong)"/>: several
/// GB/s, so checksumming never becomes the ingest bottleneck, and no package is needed.
/// </summary>
internal static class Crc32C
{
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        var longs = MemoryMarshal.Cast<byte, ulong>(data);
        foreach (var value in longs)
        {
            crc = BitOperations.Crc32C(crc, value);
        }

        for (var i = longs.Length * sizeof(ulong); i < data.Length; i++)
        {
            crc = BitOperations.Crc32C(crc, data[i]);
        }

        return crc;
    }

    public static uint Compute(ReadOnlySpan<byte> data) => ~Append(0xFFFFFFFFu, data);
}

/// <summary>
/// The on-disk layout of segment files and their completion journals. A segment is a run of frames:
/// <code>
///  0 u32 magic "GWCK"     4 u32 frame length (header + tag + node + payload)
///  8 u32 crc32c of bytes [12, frame length), 0 when checksums are off
/// 12 u8  flags (bit 0: checksummed)   13 u8 version   14 u16 tag length   16 u16 node length   18 u16 reserved
/// 20 i32 event count     24 i64 chunk id           32 tag (UTF-8), node name (UTF-8), msgpack events
/// </code>
/// The journal (<c>.done</c>) is a run of 16-byte entries: i64 chunk id, u32 output key, u32 crc32c of the first
/// 12 bytes (always on: the journal is tiny and a bad entry must never hide a pending chunk). All little-endian.
/// </summary>
internal static class SegmentFormat
{
    public const uint Magic = 0x4B435747; // "GWCK" little-endian
    public const byte Version = 1;
    public const int HeaderSize = 32;
    public const int JournalEntrySize = 16;
    public const byte FlagChecksum = 1;

    /// <summary>Frames above this are treated as corruption on replay (an append this large is refused).</summary>
    public const int MaxFrameBytes = 512 * 1024 * 1024;

    public const string SegmentPrefix = "seg-";
    public const string SegmentExtension = ".log";
    public const string JournalExtension = ".done";

    public static string SegmentFileName(long number) => $"{SegmentPrefix}{number:D10}{SegmentExtension}";

    public static string JournalFileName(long number) => $"{SegmentPrefix}{number:D10}{JournalExtension}";

    public static bool TryParseSegmentNumber(string fileName, out long number)
    {
        number = 0;
        return fileName.StartsWith(SegmentPrefix, StringComparison.Ordinal)
            && fileName.EndsWith(SegmentExtension, StringComparison.Ordinal)
            && long.TryParse(fileName.AsSpan(SegmentPrefix.Length, fileName.Length - SegmentPrefix.Length - SegmentExtension.Length), out number);
    }

    /// <summary>Bytes of the header plus tag and node name (everything before the payload).</summary>
    public static int PrefixLength(string tag, string? nodeName) =>
        HeaderSize + Encoding.UTF8.GetByteCount(tag) + (nodeName is null ? 0 : Encoding.UTF8.GetByteCount(nodeName));

    /// <summary>
    /// Writes header, tag and node into <paramref name="destination"/> (exactly <see cref="PrefixLength"/> bytes)
    /// and, when <paramref name="checksum"/> is set, the CRC over the frame including <paramref name="payload"/>.
    /// </summary>
    public static void WritePrefix(
        Span<byte> destination, long chunkId, string tag, string? nodeName, int eventCount, ReadOnlySpan<byte> payload, bool checksum)
    {
        var tagLength = Encoding.UTF8.GetBytes(tag, destination[HeaderSize..]);
        var nodeLength = nodeName is null ? 0 : Encoding.UTF8.GetBytes(nodeName, destination[(HeaderSize + tagLength)..]);
        if (tagLength > ushort.MaxValue || nodeLength > ushort.MaxValue)
        {
            throw new ArgumentException("tag or node name longer than 65535 bytes");
        }

        var prefixLength = HeaderSize + tagLength + nodeLength;
        BinaryPrimitives.WriteUInt32LittleEndian(destination, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[4..], checked((uint)(prefixLength + payload.Length)));
        destination[12] = checksum ? FlagChecksum : (byte)0;
        destination[13] = Version;
        BinaryPrimitives.WriteUInt16LittleEndian(destination[14..], (ushort)tagLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[16..], (ushort)nodeLength);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[18..], 0);
        BinaryPrimitives.WriteInt32LittleEndian(destination[20..], eventCount);
        BinaryPrimitives.WriteInt64LittleEndian(destination[24..], chunkId);
        uint crc = 0;
        if (checksum)
        {
            crc = ~Crc32C.Append(Crc32C.Append(0xFFFFFFFFu, destination[12..prefixLength]), payload);
        }

        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], crc);
    }

    public static void WriteJournalEntry(Span<byte> destination, long chunkId, uint outputKey)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, chunkId);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], outputKey);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[12..], Crc32C.Compute(destination[..12]));
    }

    public static bool TryReadJournalEntry(ReadOnlySpan<byte> source, out long chunkId, out uint outputKey)
    {
        chunkId = BinaryPrimitives.ReadInt64LittleEndian(source);
        outputKey = BinaryPrimitives.ReadUInt32LittleEndian(source[8..]);
        return BinaryPrimitives.ReadUInt32LittleEndian(source[12..]) == Crc32C.Compute(source[..12]);
    }

    /// <summary>
    /// A stable key for an output in journals: FNV-1a of its name, so reordering outputs in the config does not
    /// mark the wrong output's progress (an index would).
    /// </summary>
    public static uint OutputKey(string outputName)
    {
        var hash = 2166136261u;
        foreach (var c in outputName)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
