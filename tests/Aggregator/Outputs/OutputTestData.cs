using System.Buffers;
using Gateway.Engine.Config;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Aggregator.Tests.Outputs;

/// <summary>Known events and config sections for output tests.</summary>
internal static class OutputTestData
{
    public static readonly EventTime Time = new(1_700_000_000, 500_000_000);

    /// <summary>msgpack of <c>{"log":"hi","n":42,"f":1.5,"b":true,"z":nil}</c>.</summary>
    public static byte[] Record()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(5);
        writer.Write("log");
        writer.Write("hi");
        writer.Write("n");
        writer.Write(42);
        writer.Write("f");
        writer.Write(1.5);
        writer.Write("b");
        writer.Write(true);
        writer.Write("z");
        writer.WriteNil();
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A chunk of <paramref name="count"/> copies of the known record, <c>[time, record]</c> layout.</summary>
    public static EventChunk Chunk(string tag = "app", int count = 1, bool withMetadata = false)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        var record = Record();
        for (var i = 0; i < count; i++)
        {
            if (withMetadata)
            {
                var meta = new ArrayBufferWriter<byte>();
                var metaWriter = new MessagePackWriter(meta);
                metaWriter.WriteMapHeader(1);
                metaWriter.Write("stream");
                metaWriter.Write("stdout");
                metaWriter.Flush();
                EventWriter.WriteEventV2(ref writer, Time, meta.WrittenSpan, record);
            }
            else
            {
                EventWriter.WriteEvent(ref writer, Time, record);
            }
        }

        writer.Flush();
        return new EventChunk(tag, buffer.WrittenSpan.ToArray(), count);
    }

    public static ConfigSection Section(params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry>();
        for (var i = 0; i < entries.Length; i++)
        {
            list.Add(new ConfigEntry(entries[i].Key, entries[i].Value, new ConfigLocation("test.conf", 10 + i)));
        }

        return new ConfigSection(SectionKind.Output, "OUTPUT", new ConfigLocation("test.conf", 9), list);
    }
}
