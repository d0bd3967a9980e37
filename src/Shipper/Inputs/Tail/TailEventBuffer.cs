using System.Buffers;
using System.Text;
using Gateway.Engine.Buffers;
using Gateway.Engine.Parsers;
using Gateway.Engine.Records;
using Gateway.Shipper.Container;
using MessagePack;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>
/// Collects the msgpack events one file produces between two chunk emissions, and writes records in the layouts
/// Fluent Bit's tail uses (flb_tail_file_pack_line / flb_tail_pack_line_map / record_append_custom_keys), including
/// its <c>Path_Key</c>/<c>Offset_Key</c> placement: before the line key for raw lines, after the fields for parsed and
/// multiline records. The offset is the line's start offset.
/// </summary>
internal sealed class TailEventBuffer : IDisposable
{
    private readonly PooledBufferWriter _events;
    private readonly byte[]? _pathKey;
    private readonly byte[]? _offsetKey;
    private readonly byte[] _path;

    /// <param name="chunkBytes">
    /// The size at which the input emits a chunk: the buffer starts at that size, so a full chunk is handed over as
    /// it is (no copy, no growth on the way).
    /// </param>
    public TailEventBuffer(string logicalPath, string? pathKey, string? offsetKey, int chunkBytes = 16 * 1024)
    {
        _events = new PooledBufferWriter(chunkBytes);
        _path = Encoding.UTF8.GetBytes(logicalPath);
        _pathKey = pathKey is null ? null : Encoding.UTF8.GetBytes(pathKey);
        _offsetKey = offsetKey is null ? null : Encoding.UTF8.GetBytes(offsetKey);
    }

    public int EventCount { get; private set; }

    public int ByteCount => _events.WrittenCount;

    public ReadOnlySpan<byte> Events => _events.WrittenSpan;

    private int ExtraCount => (_pathKey is null ? 0 : 1) + (_offsetKey is null ? 0 : 1);

    /// <summary>
    /// Hands the events to a chunk (which owns them until it is acknowledged) and starts over. A buffer at least half
    /// full is handed over as it is — <paramref name="pooled"/> is then the <see cref="ChunkBufferPool"/> array,
    /// to be returned once nothing reads the chunk — because copying a chunk-sized buffer would keep a second copy of
    /// every chunk in flight; a small remainder is copied out (<paramref name="pooled"/> null) and the buffer returned.
    /// </summary>
    public ReadOnlyMemory<byte> TakeEvents(out byte[]? pooled)
    {
        var length = _events.WrittenCount;
        ReadOnlyMemory<byte> events;
        if (length > 0 && length >= _events.Capacity / 2)
        {
            pooled = _events.Detach();
            events = pooled.AsMemory(0, length);
        }
        else
        {
            // The buffer goes back to the pool too: a file that is not being read holds none.
            pooled = null;
            events = _events.WrittenSpan.ToArray();
            var buffer = _events.Detach();
            if (buffer.Length > 0)
            {
                ChunkBufferPool.Shared.Return(buffer);
            }
        }

        EventCount = 0;
        return events;
    }

    /// <summary><c>{path_key, offset_key, key: line}</c> — a line without a parser, or one the parser did not match.</summary>
    public void WriteRawLine(EventTime time, ReadOnlySpan<byte> key, ReadOnlySpan<byte> line, long lineOffset)
    {
        var writer = new MessagePackWriter(_events);
        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, time);
        writer.WriteMapHeader(1 + ExtraCount);
        WritePathKey(ref writer);
        WriteOffsetKey(ref writer, lineOffset);
        writer.WriteString(key);
        writer.WriteString(line);
        writer.Flush();
        EventCount++;
    }

    /// <summary><c>{...parsed, path_key, offset_key}</c> from a parser's msgpack map.</summary>
    public void WriteParsedRecord(EventTime time, ReadOnlySpan<byte> map, long lineOffset)
    {
        var (count, headerLength) = ReadMapHeader(map);
        var body = map[headerLength..];
        var writer = new MessagePackWriter(_events);
        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, time);
        writer.WriteMapHeader(count + ExtraCount);
        writer.WriteRaw(body);
        WritePathKey(ref writer);
        WriteOffsetKey(ref writer, lineOffset);
        writer.Flush();
        EventCount++;
    }

    /// <summary>A docker json-file record (optionally with <c>log</c> replaced by a joined value), keys appended after.</summary>
    public void WriteJsonRecord(EventTime time, ReadOnlySpan<byte> json, int memberCount, ReadOnlySpan<byte> replaceKey, ReadOnlySpan<byte> replaceValue, long offset)
    {
        var writer = new MessagePackWriter(_events);
        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, time);
        writer.WriteMapHeader(memberCount + ExtraCount);
        JsonMsgpack.WriteMembers(json, ref writer, replaceKey, replaceValue);
        WritePathKey(ref writer);
        WriteOffsetKey(ref writer, offset);
        writer.Flush();
        EventCount++;
    }

    /// <summary>The CRI record <c>{time, stream, _p, log}</c> of Fluent Bit's <c>cri</c> multiline parser.</summary>
    public void WriteCriRecord(EventTime time, in CriLine first, ReadOnlySpan<byte> log, long offset)
    {
        var writer = new MessagePackWriter(_events);
        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, time);
        writer.WriteMapHeader(4 + ExtraCount);
        writer.WriteString("time"u8);
        writer.WriteString(first.Time);
        writer.WriteString("stream"u8);
        writer.WriteString(first.Stream);
        writer.WriteString("_p"u8);
        writer.WriteString(first.Partial ? "P"u8 : "F"u8);
        writer.WriteString("log"u8);
        writer.WriteString(log);
        WritePathKey(ref writer);
        WriteOffsetKey(ref writer, offset);
        writer.Flush();
        EventCount++;
    }

    public void Dispose() => _events.Dispose();

    /// <summary>Reads a msgpack map header from a span (MessagePackReader wants memory, this runs per record).</summary>
    private static (int Count, int HeaderLength) ReadMapHeader(ReadOnlySpan<byte> map)
    {
        var b = map[0];
        if ((b & 0xF0) == 0x80)
        {
            return (b & 0x0F, 1);
        }

        if (b == 0xDE)
        {
            return (System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(map[1..]), 3);
        }

        if (b == 0xDF)
        {
            return ((int)System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(map[1..]), 5);
        }

        throw new InvalidOperationException($"parser produced a record that is not a msgpack map (first byte 0x{b:X2})");
    }

    private void WritePathKey(ref MessagePackWriter writer)
    {
        if (_pathKey is not null)
        {
            writer.WriteString(_pathKey);
            writer.WriteString(_path);
        }
    }

    private void WriteOffsetKey(ref MessagePackWriter writer, long offset)
    {
        if (_offsetKey is not null)
        {
            writer.WriteString(_offsetKey);
            writer.Write((ulong)offset);
        }
    }
}
