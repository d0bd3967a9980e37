using System.Buffers;
using MessagePack;

namespace Gateway.Engine.Records;

/// <summary>One decoded event: its time and the raw msgpack bytes of its metadata map and record map.</summary>
public readonly struct EventView
{
    public EventView(EventTime time, ReadOnlyMemory<byte> metadata, ReadOnlyMemory<byte> record, ReadOnlyMemory<byte> raw)
    {
        Time = time;
        Metadata = metadata;
        Record = record;
        Raw = raw;
    }

    public EventTime Time { get; }

    /// <summary>msgpack map of v2 metadata, or empty when the event used the <c>[time, record]</c> layout.</summary>
    public ReadOnlyMemory<byte> Metadata { get; }

    /// <summary>msgpack map (the record), exactly as stored.</summary>
    public ReadOnlyMemory<byte> Record { get; }

    /// <summary>The whole event's bytes.</summary>
    public ReadOnlyMemory<byte> Raw { get; }
}

/// <summary>Thrown when event bytes are not a valid Fluent event; the message says what and at which offset.</summary>
public sealed class EventFormatException : Exception
{
    public EventFormatException(string message)
        : base(message)
    {
    }

    public EventFormatException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// Walks the concatenated events of an <see cref="EventChunk"/> without copying: each <see cref="EventView"/>
/// slices the chunk's memory.
/// </summary>
public struct EventReader
{
    private readonly ReadOnlyMemory<byte> _events;
    private int _offset;

    public EventReader(ReadOnlyMemory<byte> events)
    {
        _events = events;
        _offset = 0;
    }

    public readonly int Offset => _offset;

    public readonly bool End => _offset >= _events.Length;

    /// <summary>Reads the next event; false at the end. Throws <see cref="EventFormatException"/> on bad input.</summary>
    public bool TryRead(out EventView view)
    {
        if (_offset >= _events.Length)
        {
            view = default;
            return false;
        }

        var start = _offset;
        var slice = _events[start..];
        if (TryReadCommon(slice, out view))
        {
            _offset = start + view.Raw.Length;
            return true;
        }

        var reader = new MessagePackReader(slice);
        try
        {
            if (reader.NextMessagePackType != MessagePackType.Array)
            {
                throw new EventFormatException($"event at offset {start} is not an array");
            }

            var n = reader.ReadArrayHeader();
            if (n != 2)
            {
                throw new EventFormatException($"event at offset {start} has {n} elements, expected 2");
            }

            EventTime time;
            ReadOnlyMemory<byte> metadata = default;
            if (reader.NextMessagePackType == MessagePackType.Array)
            {
                var headerLen = reader.ReadArrayHeader();
                if (headerLen < 1)
                {
                    throw new EventFormatException($"event at offset {start} has an empty [time, metadata] header");
                }

                time = ReadTime(ref reader, start);
                if (headerLen >= 2)
                {
                    var metaStart = (int)reader.Consumed;
                    if (reader.NextMessagePackType != MessagePackType.Map && reader.NextMessagePackType != MessagePackType.Nil)
                    {
                        throw new EventFormatException($"event at offset {start} has metadata that is not a map");
                    }

                    reader.Skip();
                    metadata = slice[metaStart..(int)reader.Consumed];
                    for (var i = 2; i < headerLen; i++)
                    {
                        reader.Skip();
                    }
                }
            }
            else
            {
                time = ReadTime(ref reader, start);
            }

            var recordStart = (int)reader.Consumed;
            if (reader.NextMessagePackType != MessagePackType.Map)
            {
                throw new EventFormatException($"event at offset {start} has a record that is not a map");
            }

            reader.Skip();
            var end = (int)reader.Consumed;
            view = new EventView(time, metadata, slice[recordStart..end], slice[..end]);
            _offset = start + end;
            return true;
        }
        catch (EndOfStreamException ex)
        {
            throw new EventFormatException($"event at offset {start} is truncated", ex);
        }
        catch (MessagePackSerializationException ex)
        {
            throw new EventFormatException($"event at offset {start} is malformed: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// The shape nearly every event has, <c>[EventTime, {record}]</c> (fixarray 2, fixext 8 type 0, a map), read from
    /// the span with the record stepped over by its header bytes: MessagePackReader's sequence reader costs several
    /// times as much per record. Anything else, or anything malformed, goes to the general path, which owns the
    /// error messages.
    /// </summary>
    private static bool TryReadCommon(ReadOnlyMemory<byte> slice, out EventView view)
    {
        view = default;
        var span = slice.Span;
        const int RecordStart = 11;
        if (span.Length <= RecordStart || span[0] != 0x92 || span[1] != 0xd7 || span[2] != (byte)EventTime.ExtType)
        {
            return false;
        }

        var map = span[RecordStart];
        if (map is < 0x80 or > 0x8f and not 0xde and not 0xdf)
        {
            return false;
        }

        int end;
        try
        {
            end = RecordAccessor.MsgpackWalker.Skip(span, RecordStart);
        }
        catch (Json.MsgpackFormatException)
        {
            return false;
        }

        view = new EventView(EventTime.ReadPayload(span.Slice(3, 8)), default, slice[RecordStart..end], slice[..end]);
        return true;
    }

    /// <summary>Reads a Fluent time: integer seconds, float seconds, or EventTime ext type 0.</summary>
    public static EventTime ReadTime(ref MessagePackReader reader, int eventOffset)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Integer:
                var secs = reader.ReadInt64();
                if (secs < 0 || secs > uint.MaxValue)
                {
                    throw new EventFormatException($"event at offset {eventOffset} has time {secs} out of range");
                }

                return new EventTime((uint)secs, 0);
            case MessagePackType.Float:
                var d = reader.ReadDouble();
                if (double.IsNaN(d) || d < 0 || d > uint.MaxValue)
                {
                    throw new EventFormatException($"event at offset {eventOffset} has time {d} out of range");
                }

                return EventTime.FromDouble(d);
            case MessagePackType.Extension:
                var header = reader.ReadExtensionFormatHeader();
                if (header.TypeCode != EventTime.ExtType || header.Length != 8)
                {
                    throw new EventFormatException(
                        $"event at offset {eventOffset} has ext type {header.TypeCode} length {header.Length} as time, expected EventTime (type 0, 8 bytes)");
                }

                var payload = reader.ReadRaw(8);
                Span<byte> tmp = stackalloc byte[8];
                payload.CopyTo(tmp);
                return EventTime.ReadPayload(tmp);
            default:
                throw new EventFormatException(
                    $"event at offset {eventOffset} has a time of type {reader.NextMessagePackType}");
        }
    }

    /// <summary>Counts and validates the events; throws <see cref="EventFormatException"/> on the first bad one.</summary>
    public static int CountAndValidate(ReadOnlyMemory<byte> events)
    {
        var r = new EventReader(events);
        var n = 0;
        while (r.TryRead(out _))
        {
            n++;
        }

        return n;
    }
}
