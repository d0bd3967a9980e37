using System.Buffers;
using System.IO.Compression;
using MessagePack;
using ZstdSharp;

namespace Gateway.Protos.Forward;

/// <summary>Compression of a PackedForward payload on the wire.</summary>
public enum ForwardCompression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>
/// Client side of the Forward protocol: writes PackedForward / CompressedPackedForward messages, the format
/// Fluent Bit's out_forward sends. The events are the concatenated-entries layout of an EventChunk and are
/// copied as they are (or compressed) into the bin payload.
/// </summary>
public static class ForwardMessageWriter
{
    /// <summary>
    /// Writes <c>[tag, bin(events), {"size": n(, "chunk": id)(, "compressed": ...)(, "node": name)}]</c>.
    /// Pass a <paramref name="chunkId"/> (see <see cref="NewChunkId"/>) to ask the server for an ack.
    /// </summary>
    public static void WritePackedForward(
        IBufferWriter<byte> output,
        string tag,
        ReadOnlySpan<byte> events,
        int eventCount,
        string? chunkId = null,
        ForwardCompression compression = ForwardCompression.None,
        string? nodeName = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(tag);
        ArgumentOutOfRangeException.ThrowIfNegative(eventCount);
        if (compression == ForwardCompression.None)
        {
            WritePackedForwardHead(output, tag, events.Length);
            output.Write(events);
        }
        else
        {
            var compressed = new ArrayBufferWriter<byte>(Math.Max(256, events.Length / 4));
            Compress(compressed, events, compression);
            WritePackedForwardHead(output, tag, compressed.WrittenCount);
            output.Write(compressed.WrittenSpan);
        }

        WritePackedForwardOptions(output, eventCount, chunkId, compression, nodeName);
    }

    /// <summary>
    /// The part of a PackedForward message before the payload: <c>[tag, </c> and the bin header for
    /// <paramref name="payloadLength"/> bytes. With <see cref="WritePackedForwardOptions"/> it lets a sender write the
    /// payload from where it already is instead of copying it into the message.
    /// </summary>
    public static void WritePackedForwardHead(IBufferWriter<byte> output, string tag, int payloadLength)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(tag);
        ArgumentOutOfRangeException.ThrowIfNegative(payloadLength);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(3);
        writer.Write(tag);
        writer.WriteBinHeader(payloadLength);
        writer.Flush();
    }

    /// <summary>The options map that ends a PackedForward message: <c>{"size": n(, "chunk": id)(, "compressed": ...)(, "node": name)}]</c>.</summary>
    public static void WritePackedForwardOptions(
        IBufferWriter<byte> output,
        int eventCount,
        string? chunkId,
        ForwardCompression compression,
        string? nodeName)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentOutOfRangeException.ThrowIfNegative(eventCount);
        var writer = new MessagePackWriter(output);
        var optionCount = 1 + (chunkId is null ? 0 : 1) + (compression == ForwardCompression.None ? 0 : 1) + (nodeName is null ? 0 : 1);
        writer.WriteMapHeader(optionCount);
        writer.Write("size");
        writer.Write(eventCount);
        if (chunkId is not null)
        {
            writer.Write("chunk");
            writer.Write(chunkId);
        }

        if (compression != ForwardCompression.None)
        {
            writer.Write("compressed");
            writer.Write(compression == ForwardCompression.Gzip ? "gzip" : "zstd");
        }

        if (nodeName is not null)
        {
            writer.Write("node");
            writer.Write(nodeName);
        }

        writer.Flush();
    }

    /// <summary>
    /// A fresh chunk id as Fluentd and Fluent Bit send it: base64 of 16 random bytes. The bytes are a random GUID's:
    /// an id only has to be unique among a connection's chunks in flight, and <see cref="Guid.NewGuid"/> reads the
    /// kernel's random source directly where <c>RandomNumberGenerator</c> would load OpenSSL into every shipper
    /// (~4 MB of resident memory that nothing else needs without TLS).
    /// </summary>
    public static string NewChunkId()
    {
        Span<byte> bytes = stackalloc byte[16];
        Guid.NewGuid().TryWriteBytes(bytes);
        return Convert.ToBase64String(bytes);
    }

    private static void Compress(ArrayBufferWriter<byte> destination, ReadOnlySpan<byte> events, ForwardCompression compression)
    {
        using var stream = new BufferWriterStream(destination);
        if (compression == ForwardCompression.Gzip)
        {
            using var gzip = new GZipStream(stream, CompressionLevel.Fastest, leaveOpen: true);
            gzip.Write(events);
        }
        else
        {
            using var zstd = new CompressionStream(stream, level: 3, leaveOpen: true);
            zstd.Write(events);
        }
    }

    /// <summary>Write-only stream over an IBufferWriter, so compressors write straight into it.</summary>
    private sealed class BufferWriterStream(IBufferWriter<byte> destination) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer) => destination.Write(buffer);
    }
}

/// <summary>The server's acknowledgement <c>{"ack": chunk}</c>, sent once the chunk's events are stored.</summary>
public static class ForwardAck
{
    /// <summary>An ack response is a one-entry map with a short id; anything bigger is not an ack.</summary>
    public const int MaxAckBytes = 4096;

    public static void Write(IBufferWriter<byte> output, string chunk)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        var writer = new MessagePackWriter(output);
        writer.WriteMapHeader(1);
        writer.Write("ack");
        writer.Write(chunk);
        writer.Flush();
    }

    /// <summary>Reads one ack response; other map keys are ignored, a map without <c>ack</c> is an error.</summary>
    public static ForwardReadStatus TryRead(in ReadOnlySequence<byte> buffer, out string? chunk, out long consumed, out string? error)
    {
        chunk = null;
        consumed = 0;
        error = null;
        var scanner = new MessagePackFrameScanner(MaxAckBytes, maxDepth: 4);
        switch (scanner.Scan(buffer))
        {
            case FrameScanStatus.Incomplete:
                return ForwardReadStatus.NeedMoreData;
            case FrameScanStatus.Error:
                error = scanner.Error;
                return ForwardReadStatus.Error;
        }

        consumed = scanner.FrameLength;
        try
        {
            var reader = new MessagePackReader(buffer.Slice(0, consumed));
            if (reader.NextMessagePackType != MessagePackType.Map)
            {
                error = "ack response is not a map";
                return ForwardReadStatus.Error;
            }

            var count = reader.ReadMapHeader();
            for (var i = 0; i < count; i++)
            {
                if (reader.NextMessagePackType != MessagePackType.String)
                {
                    reader.Skip();
                    reader.Skip();
                    continue;
                }

                if (reader.ReadString() == "ack" && reader.NextMessagePackType == MessagePackType.String)
                {
                    chunk = reader.ReadString();
                }
                else
                {
                    reader.Skip();
                }
            }
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException)
        {
            error = $"malformed ack response: {ex.Message}";
            return ForwardReadStatus.Error;
        }

        if (chunk is null)
        {
            error = "ack response has no string 'ack' entry";
            return ForwardReadStatus.Error;
        }

        return ForwardReadStatus.Ok;
    }
}
