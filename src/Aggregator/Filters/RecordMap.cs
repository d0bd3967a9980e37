using System.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.RecordAccessor;

namespace Gateway.Aggregator.Filters;

/// <summary>Where one key/value pair of a record map sits in the record bytes.</summary>
internal struct MapEntry
{
    /// <summary>First byte of the key.</summary>
    public int KeyStart;

    /// <summary>First byte of the value.</summary>
    public int ValueStart;

    /// <summary>Just past the value.</summary>
    public int End;

    /// <summary>Key payload offset and length when the key is a string or binary.</summary>
    public int KeyOffset;

    public int KeyLength;

    public MsgpackKind KeyKind;

    /// <summary>The key's boolean value, when the key is a boolean (modify's regexes treat it as "true"/"false").</summary>
    public bool KeyBoolean;

    public MsgpackKind ValueKind;

    /// <summary>Element count when the value is a map or array.</summary>
    public int ValueCount;

    /// <summary>Value payload offset and length when the value is a string or binary.</summary>
    public int ValueOffset;

    public int ValueLength;

    public bool ValueBoolean;

    /// <summary>String or binary key: something Fluent Bit filters can compare by bytes.</summary>
    public readonly bool HasTextKey => KeyKind is MsgpackKind.String or MsgpackKind.Binary;
}

/// <summary>
/// The entries of one record map, scanned once into a reusable table so filters can count, test and re-pack
/// entries without decoding values. One instance per thread; never shared across concurrent calls.
/// </summary>
internal sealed class RecordMap
{
    [ThreadStatic]
    private static RecordMap? t_current;

    [ThreadStatic]
    private static RecordMap? t_second;

    private MapEntry[] _entries = new MapEntry[32];

    public int Count { get; private set; }

    public ReadOnlySpan<MapEntry> Entries => _entries.AsSpan(0, Count);

    /// <summary>The thread's scratch table (filters use at most two at once: a record and a map nested in it).</summary>
    public static RecordMap ForThread() => t_current ??= new RecordMap();

    public static RecordMap SecondForThread() => t_second ??= new RecordMap();

    /// <summary>Scans the map at <paramref name="start"/>; false when the value there is not a map.</summary>
    /// <exception cref="MsgpackFormatException">The bytes are not valid msgpack.</exception>
    public bool Scan(ReadOnlySpan<byte> buffer, int start = 0)
    {
        Count = 0;
        var cursor = new MsgpackCursor(buffer, start);
        var header = cursor.Read();
        if (header.Kind != MsgpackKind.Map)
        {
            return false;
        }

        if (_entries.Length < header.Length)
        {
            _entries = new MapEntry[Math.Max(header.Length, _entries.Length * 2)];
        }

        var position = cursor.Position;
        for (var i = 0; i < header.Length; i++)
        {
            ref var entry = ref _entries[i];
            entry.KeyStart = position;
            position = ReadHeader(buffer, position, out entry.KeyKind, out entry.KeyOffset, out entry.KeyLength, out entry.KeyBoolean);
            entry.ValueStart = position;
            position = ReadHeader(buffer, position, out entry.ValueKind, out entry.ValueOffset, out entry.ValueLength, out entry.ValueBoolean);
            entry.ValueCount = entry.ValueLength;
            entry.End = position;
        }

        Count = header.Length;
        return true;
    }

    /// <summary>
    /// Reads one value's header and returns the position after the whole value. The common headers (short
    /// strings, small maps and arrays, small integers, booleans, nil) are decoded inline; the rest go through the
    /// general cursor.
    /// </summary>
    private static int ReadHeader(ReadOnlySpan<byte> buffer, int position, out MsgpackKind kind, out int payload, out int length, out bool boolean)
    {
        boolean = false;
        if ((uint)position < (uint)buffer.Length)
        {
            var b = buffer[position];
            if (b is >= 0xa0 and <= 0xbf)
            {
                kind = MsgpackKind.String;
                payload = position + 1;
                length = b & 0x1f;
                return CheckedEnd(buffer, payload, length, position);
            }

            if (b == 0xd9 && position + 1 < buffer.Length)
            {
                kind = MsgpackKind.String;
                payload = position + 2;
                length = buffer[position + 1];
                return CheckedEnd(buffer, payload, length, position);
            }

            if (b is >= 0x80 and <= 0x9f)
            {
                kind = b <= 0x8f ? MsgpackKind.Map : MsgpackKind.Array;
                payload = 0;
                length = b & 0x0f;
                return MsgpackWalker.Skip(buffer, position);
            }

            if (b <= 0x7f)
            {
                kind = MsgpackKind.PositiveInteger;
                payload = 0;
                length = 0;
                return position + 1;
            }

            if (b is 0xc2 or 0xc3)
            {
                kind = MsgpackKind.Boolean;
                boolean = b == 0xc3;
                payload = 0;
                length = 0;
                return position + 1;
            }
        }

        var cursor = new MsgpackCursor(buffer, position);
        var token = cursor.Read();
        kind = token.Kind;
        payload = token.Offset;
        length = token.Length;
        boolean = token.Boolean;
        return kind is MsgpackKind.Map or MsgpackKind.Array ? MsgpackWalker.Skip(buffer, position) : cursor.Position;
    }

    private static int CheckedEnd(ReadOnlySpan<byte> buffer, int payload, int length, int position) =>
        buffer.Length - payload >= length ? payload + length : throw new MsgpackFormatException("truncated msgpack string", position);

    public static ReadOnlySpan<byte> KeyBytes(ReadOnlySpan<byte> buffer, in MapEntry entry) =>
        entry.HasTextKey ? buffer.Slice(entry.KeyOffset, entry.KeyLength) : default;

    /// <summary>Re-packs one key/value pair as msgpack-c would.</summary>
    public static void CopyEntry(ReadOnlySpan<byte> buffer, in MapEntry entry, IBufferWriter<byte> output) =>
        MsgpackCanonicalWriter.CopyRange(buffer, entry.KeyStart, entry.End, output);

    public static void CopyValue(ReadOnlySpan<byte> buffer, in MapEntry entry, IBufferWriter<byte> output) =>
        MsgpackCanonicalWriter.CopyRange(buffer, entry.ValueStart, entry.End, output);

    public static void CopyKey(ReadOnlySpan<byte> buffer, in MapEntry entry, IBufferWriter<byte> output) =>
        MsgpackCanonicalWriter.CopyRange(buffer, entry.KeyStart, entry.ValueStart, output);
}

/// <summary>
/// Collects kept map entries that sit next to each other in the source record and copies each run in one
/// <see cref="MsgpackCanonicalWriter.CopyRange"/> call. Call <see cref="Flush"/> before writing anything else.
/// </summary>
internal ref struct EntryRunCopier
{
    private readonly ReadOnlySpan<byte> _buffer;
    private readonly IBufferWriter<byte> _output;
    private int _start;
    private int _end;

    public EntryRunCopier(ReadOnlySpan<byte> buffer, IBufferWriter<byte> output)
    {
        _buffer = buffer;
        _output = output;
        _start = -1;
        _end = -1;
    }

    public void Add(in MapEntry entry)
    {
        if (_start >= 0 && entry.KeyStart == _end)
        {
            _end = entry.End;
            return;
        }

        Flush();
        _start = entry.KeyStart;
        _end = entry.End;
    }

    public void Flush()
    {
        if (_start >= 0)
        {
            MsgpackCanonicalWriter.CopyRange(_buffer, _start, _end, _output);
            _start = -1;
        }
    }
}
