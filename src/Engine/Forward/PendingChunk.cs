using System.Buffers;
using System.IO.Compression;
using System.Security.Cryptography;
using Gateway.Engine.Json;
using MessagePack;

namespace Gateway.Engine.Forward;

/// <summary>
/// A chunk encoded as a PackedForward message, kept until it is acknowledged so it can be resent after a reconnect.
/// Its pooled buffer is reference counted: the sender owns one reference and every write takes one, so a resend
/// in progress never reads a buffer the sender already returned to the pool.
/// </summary>
internal sealed class PendingChunk
{
    private readonly PooledByteBufferWriter _message;
    private int _references = 1;

    private PendingChunk(string id, PooledByteBufferWriter message, long sequence)
    {
        Id = id;
        _message = message;
        Sequence = sequence;
    }

    public string Id { get; }

    /// <summary>Order of submission, so resends go out in the original order.</summary>
    public long Sequence { get; }

    /// <summary>Generation of the connection this chunk was last written on; 0 = not yet written.</summary>
    public long SentGeneration { get; set; }

    public TaskCompletionSource<ForwardSendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public ReadOnlyMemory<byte> Message => _message.WrittenMemory;

    /// <summary>
    /// Encodes <c>[tag, entries(bin), {size, chunk, compressed}]</c>. The options map is present when acks,
    /// compression or <c>Send_options</c> need it, as in Fluent Bit's out_forward.
    /// </summary>
    public static PendingChunk Encode(string tag, ReadOnlySpan<byte> entries, int eventCount, ForwardClientOptions options, long sequence)
    {
        var id = options.RequireAck ? NewChunkId() : string.Empty;
        var message = new PooledByteBufferWriter(entries.Length + tag.Length + 96);
        var writer = new MessagePackWriter(message);
        var withOptions = options.RequireAck || options.CompressGzip || options.SendOptions;
        writer.WriteArrayHeader(withOptions ? 3 : 2);
        writer.Write(tag);
        if (options.CompressGzip)
        {
            using var compressed = new PooledByteBufferWriter(Math.Max(1024, entries.Length / 2));
            using (var gzip = new GZipStream(new BufferWriterStream(compressed), CompressionLevel.Fastest, leaveOpen: false))
            {
                gzip.Write(entries);
            }

            writer.WriteBinHeader(compressed.WrittenCount);
            writer.WriteRaw(compressed.WrittenSpan);
        }
        else
        {
            writer.WriteBinHeader(entries.Length);
            writer.WriteRaw(entries);
        }

        if (withOptions)
        {
            writer.WriteMapHeader(1 + (options.RequireAck ? 1 : 0) + (options.CompressGzip ? 1 : 0));
            writer.Write("size");
            writer.Write(eventCount);
            if (options.RequireAck)
            {
                writer.Write("chunk");
                writer.Write(id);
            }

            if (options.CompressGzip)
            {
                writer.Write("compressed");
                writer.Write("gzip");
            }
        }

        writer.Flush();
        return new PendingChunk(id, message, sequence);
    }

    /// <summary>Takes a reference for a write; false when the sender already let go of the chunk.</summary>
    public bool TryAcquire()
    {
        while (true)
        {
            var current = Volatile.Read(ref _references);
            if (current <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _references, current + 1, current) == current)
            {
                return true;
            }
        }
    }

    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            _message.Dispose();
        }
    }

    /// <summary>16 random bytes, base64: unique per chunk like Fluent Bit's chunk ids.</summary>
    private static string NewChunkId()
    {
        Span<byte> bytes = stackalloc byte[16];
        RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes);
    }
}
