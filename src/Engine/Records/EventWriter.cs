using System.Buffers;
using MessagePack;

namespace Gateway.Engine.Records;

/// <summary>Helpers that write Fluent events into an <see cref="IBufferWriter{T}"/> as msgpack.</summary>
public static class EventWriter
{
    /// <summary>Writes an EventTime as msgpack ext type 0.</summary>
    public static void WriteTime(ref MessagePackWriter writer, EventTime time)
    {
        writer.WriteExtensionFormatHeader(new ExtensionHeader(EventTime.ExtType, 8));
        var payload = writer.GetSpan(8);
        time.WritePayload(payload);
        writer.Advance(8);
    }

    /// <summary>Writes <c>[time, record]</c> with the record's msgpack bytes copied as they are.</summary>
    public static void WriteEvent(ref MessagePackWriter writer, EventTime time, ReadOnlySpan<byte> recordMsgpack)
    {
        writer.WriteArrayHeader(2);
        WriteTime(ref writer, time);
        writer.WriteRaw(recordMsgpack);
    }

    /// <summary>Writes the v2 layout <c>[[time, metadata], record]</c>; empty metadata is written as an empty map.</summary>
    public static void WriteEventV2(ref MessagePackWriter writer, EventTime time, ReadOnlySpan<byte> metadataMsgpack, ReadOnlySpan<byte> recordMsgpack)
    {
        writer.WriteArrayHeader(2);
        writer.WriteArrayHeader(2);
        WriteTime(ref writer, time);
        if (metadataMsgpack.IsEmpty)
        {
            writer.WriteMapHeader(0);
        }
        else
        {
            writer.WriteRaw(metadataMsgpack);
        }

        writer.WriteRaw(recordMsgpack);
    }

    /// <summary>Convenience for tests and tools: one event with string fields.</summary>
    public static void WriteEvent(IBufferWriter<byte> output, EventTime time, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(2);
        WriteTime(ref writer, time);
        writer.WriteMapHeader(fields.Count);
        foreach (var kv in fields)
        {
            writer.Write(kv.Key);
            writer.Write(kv.Value);
        }

        writer.Flush();
    }
}
