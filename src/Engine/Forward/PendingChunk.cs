using Gateway.Engine.Buffers;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;

namespace Gateway.Engine.Forward;

/// <summary>
/// A chunk encoded as a PackedForward message, kept until it is acknowledged so it can be resent after a reconnect.
/// Its pooled buffer is reference counted: the sender owns one reference and every write takes one, so a resend
/// in progress never reads a buffer the sender already returned to the pool.
/// </summary>
internal sealed class PendingChunk
{
    private readonly PooledBufferWriter _message;
    private int _references = 1;

    private PendingChunk(string id, PooledBufferWriter message, long sequence)
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
    /// Encodes the chunk as <c>[tag, bin(entries), {size, chunk, compressed, node}]</c> (Fluent Bit's out_forward
    /// layout; the options map is always sent, which every forward server accepts).
    /// </summary>
    public static PendingChunk Encode(EventChunk chunk, ForwardClientOptions options, long sequence)
    {
        var id = options.RequireAck ? ForwardMessageWriter.NewChunkId() : string.Empty;
        var message = new PooledBufferWriter(chunk.ByteLength + chunk.Tag.Length + 128);
        ForwardMessageWriter.WritePackedForward(
            message,
            chunk.Tag,
            chunk.Events.Span,
            chunk.EventCount,
            options.RequireAck ? id : null,
            options.Compression,
            chunk.NodeName);
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
}
