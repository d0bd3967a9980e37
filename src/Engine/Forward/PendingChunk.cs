using Gateway.Engine.Buffers;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;

namespace Gateway.Engine.Forward;

/// <summary>
/// A chunk encoded as a PackedForward message, kept until it is acknowledged so it can be resent after a reconnect.
/// Uncompressed, the message is three segments — the head (<c>[tag, bin header</c>), the chunk's own event bytes and
/// the options map — so the events are not copied: a copy per chunk in flight would cost as much memory as the window
/// (8 × up to 512 KiB on the shipper). Compressed, the whole message is encoded into one pooled buffer.
/// References are counted: the sender owns one and every write takes one, so a resend in progress never reads a
/// buffer the sender already returned, and <see cref="WhenReleased"/> tells the sender when no write reads the
/// chunk's events any more (its caller may reuse them only then).
/// </summary>
internal sealed class PendingChunk
{
    private readonly PooledBufferWriter _encoded;
    private readonly int _headLength;
    private readonly ReadOnlyMemory<byte> _events;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _references = 1;

    private PendingChunk(string id, PooledBufferWriter encoded, int headLength, ReadOnlyMemory<byte> events, long sequence)
    {
        Id = id;
        _encoded = encoded;
        _headLength = headLength;
        _events = events;
        Sequence = sequence;
    }

    public string Id { get; }

    /// <summary>Order of submission, so resends go out in the original order.</summary>
    public long Sequence { get; }

    /// <summary>Generation of the connection this chunk was last written on; 0 = not yet written.</summary>
    public long SentGeneration { get; set; }

    public TaskCompletionSource<ForwardSendResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the last reference is gone: no write reads the message or the chunk's events any more.</summary>
    public Task WhenReleased => _released.Task;

    /// <summary>
    /// Encodes the chunk as <c>[tag, bin(entries), {size, chunk, compressed, node}]</c> (Fluent Bit's out_forward
    /// layout; the options map is always sent, which every forward server accepts). Uncompressed, the chunk's events
    /// are referenced, not copied: they must stay unchanged until <see cref="WhenReleased"/> completes.
    /// </summary>
    public static PendingChunk Encode(EventChunk chunk, ForwardClientOptions options, long sequence)
    {
        var id = options.RequireAck ? ForwardMessageWriter.NewChunkId() : string.Empty;
        if (options.Compression != ForwardCompression.None)
        {
            var message = new PooledBufferWriter(chunk.ByteLength + chunk.Tag.Length + 128);
            ForwardMessageWriter.WritePackedForward(
                message,
                chunk.Tag,
                chunk.Events.Span,
                chunk.EventCount,
                options.RequireAck ? id : null,
                options.Compression,
                chunk.NodeName);
            return new PendingChunk(id, message, message.WrittenCount, ReadOnlyMemory<byte>.Empty, sequence);
        }

        var framing = new PooledBufferWriter(chunk.Tag.Length + (chunk.NodeName?.Length ?? 0) + 128);
        ForwardMessageWriter.WritePackedForwardHead(framing, chunk.Tag, chunk.ByteLength);
        var headLength = framing.WrittenCount;
        ForwardMessageWriter.WritePackedForwardOptions(framing, chunk.EventCount, options.RequireAck ? id : null, ForwardCompression.None, chunk.NodeName);
        return new PendingChunk(id, framing, headLength, chunk.Events, sequence);
    }

    /// <summary>Writes the whole message to <paramref name="stream"/>; the caller holds a reference (<see cref="TryAcquire"/>).</summary>
    public async ValueTask WriteToAsync(Stream stream, CancellationToken cancellationToken)
    {
        var encoded = _encoded.WrittenMemory;
        await stream.WriteAsync(encoded[.._headLength], cancellationToken).ConfigureAwait(false);
        if (!_events.IsEmpty)
        {
            await stream.WriteAsync(_events, cancellationToken).ConfigureAwait(false);
        }

        if (encoded.Length > _headLength)
        {
            await stream.WriteAsync(encoded[_headLength..], cancellationToken).ConfigureAwait(false);
        }
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
            _encoded.Dispose();
            _released.TrySetResult();
        }
    }
}
