using System.Buffers;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using MessagePack;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

/// <summary>Forward messages for server tests, built with MessagePackWriter / the engine's EventWriter.</summary>
internal static class ForwardFrames
{
    public delegate void Build(ref MessagePackWriter writer);

    public static byte[] Msgpack(Build build)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        build(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Events(int count, string text = "hello", uint firstSecond = 1_700_000_000)
    {
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < count; i++)
        {
            EventWriter.WriteEvent(buffer, new EventTime(firstSecond + (uint)i, 0), [new("log", $"{text} {i}")]);
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Packed(string tag, byte[] events, int count, string? chunk = null, ForwardCompression compression = ForwardCompression.None, string? node = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        ForwardMessageWriter.WritePackedForward(buffer, tag, events, count, chunk, compression, node);
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] MessageMode(string tag, string text, string? chunk) => Msgpack((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(chunk is null ? 3 : 4);
        w.Write(tag);
        w.Write(1_700_000_000);
        w.WriteMapHeader(1);
        w.Write("log");
        w.Write(text);
        if (chunk is not null)
        {
            w.WriteMapHeader(1);
            w.Write("chunk");
            w.Write(chunk);
        }
    });

    public static byte[] ForwardMode(string tag, byte[] events, int count, string? chunk) => Msgpack((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(chunk is null ? 2 : 3);
        w.Write(tag);
        w.WriteArrayHeader(count);
        w.WriteRaw(events);
        if (chunk is not null)
        {
            w.WriteMapHeader(1);
            w.Write("chunk");
            w.Write(chunk);
        }
    });

    public static int CountEvents(ReadOnlyMemory<byte> events) => EventReader.CountAndValidate(events);
}
