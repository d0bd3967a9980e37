using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using MessagePack;

namespace Gateway.Protos.Tests.Forward;

/// <summary>Builds Forward protocol bytes by hand with MessagePackWriter, independent of the code under test.</summary>
internal static class ForwardTestData
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

    public static void WriteEventTime(ref MessagePackWriter writer, uint seconds, uint nanos)
    {
        writer.WriteExtensionFormatHeader(new ExtensionHeader(0, 8));
        var payload = new byte[8];
        BinaryPrimitives.WriteUInt32BigEndian(payload, seconds);
        BinaryPrimitives.WriteUInt32BigEndian(payload[4..], nanos);
        writer.WriteRaw(payload);
    }

    public static byte[] Record(string message) => Msgpack((ref MessagePackWriter w) =>
    {
        w.WriteMapHeader(2);
        w.Write("log");
        w.Write(message);
        w.Write("level");
        w.Write("info");
    });

    /// <summary><c>[EventTime, record]</c>.</summary>
    public static byte[] Event(uint seconds, string message) => Msgpack((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(2);
        WriteEventTime(ref w, seconds, 123_456_789);
        w.WriteRaw(Record(message));
    });

    /// <summary><c>[int time, record]</c>.</summary>
    public static byte[] IntEvent(uint seconds, string message) => Msgpack((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(2);
        w.Write(seconds);
        w.WriteRaw(Record(message));
    });

    /// <summary><c>[float time, record]</c>.</summary>
    public static byte[] FloatEvent(double seconds, string message) => Msgpack((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(2);
        w.Write(seconds);
        w.WriteRaw(Record(message));
    });

    /// <summary>v2 layout <c>[[EventTime, {metadata}], record]</c>.</summary>
    public static byte[] V2Event(uint seconds, string message) => Msgpack((ref MessagePackWriter w) =>
    {
        w.WriteArrayHeader(2);
        w.WriteArrayHeader(2);
        WriteEventTime(ref w, seconds, 5);
        w.WriteMapHeader(1);
        w.Write("otlp");
        w.Write(true);
        w.WriteRaw(Record(message));
    });

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static void WriteOptions(ref MessagePackWriter w, string? chunk = null, long? size = null, string? compressed = null, string? node = null, bool unknown = false)
    {
        var n = (chunk is null ? 0 : 1) + (size is null ? 0 : 1) + (compressed is null ? 0 : 1) + (node is null ? 0 : 1) + (unknown ? 1 : 0);
        w.WriteMapHeader(n);
        if (unknown)
        {
            w.Write("fluent_signal_future");
            w.WriteArrayHeader(1);
            w.Write(1);
        }

        if (chunk is not null)
        {
            w.Write("chunk");
            w.Write(chunk);
        }

        if (size is { } s)
        {
            w.Write("size");
            w.Write(s);
        }

        if (compressed is not null)
        {
            w.Write("compressed");
            w.Write(compressed);
        }

        if (node is not null)
        {
            w.Write("node");
            w.Write(node);
        }
    }

    public static byte[] Packed(string tag, byte[] entries, bool asString = false, string? chunk = null, long? size = null, string? compressed = null, string? node = null) =>
        Msgpack((ref MessagePackWriter w) =>
        {
            var hasOptions = chunk is not null || size is not null || compressed is not null || node is not null;
            w.WriteArrayHeader(hasOptions ? 3 : 2);
            w.Write(tag);
            if (asString)
            {
                w.WriteString(entries);
            }
            else
            {
                w.Write(entries);
            }

            if (hasOptions)
            {
                WriteOptions(ref w, chunk, size, compressed, node);
            }
        });

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            gz.Write(data);
        }

        return ms.ToArray();
    }

    public static byte[] Zstd(byte[] data)
    {
        using var compressor = new ZstdSharp.Compressor(3);
        return compressor.Wrap(data).ToArray();
    }
}
