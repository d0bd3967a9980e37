using Gateway.Engine.Buffers;
using Gateway.Engine.Records;

namespace Gateway.Shipper.Pipeline;

/// <summary>
/// What an input (tail, systemd) hands downstream: an <see cref="EventChunk"/> (one tag, msgpack
/// <c>[EventTime, {record}]</c> events) and the input's <typeparamref name="TToken"/> saying which source position it
/// covers (a file's bytes, a journal cursor). Call <see cref="Acknowledge"/> only once the aggregator acknowledged
/// the chunk: that is what lets the position move in the DB. A chunk never acknowledged is read again after a restart.
/// </summary>
public sealed class InputChunk<TToken>
{
    private readonly IInputChunkAcknowledgement<TToken> _acknowledgement;
    private byte[]? _pooledEvents;
    private int _acknowledged;

    /// <param name="pooledEvents">The <see cref="ChunkBufferPool"/> array holding the events, if they are in one (see <see cref="ReleaseEvents"/>).</param>
    internal InputChunk(EventChunk chunk, TToken token, IInputChunkAcknowledgement<TToken> acknowledgement, byte[]? pooledEvents = null)
    {
        Chunk = chunk;
        Token = token;
        _acknowledgement = acknowledgement;
        _pooledEvents = pooledEvents;
    }

    /// <summary>
    /// The events; the memory belongs to this chunk and stays valid for as long as it is referenced, or until
    /// <see cref="ReleaseEvents"/>.
    /// </summary>
    public EventChunk Chunk { get; }

    public TToken Token { get; }

    public bool IsAcknowledged => Volatile.Read(ref _acknowledged) != 0;

    /// <summary>Marks the chunk delivered; idempotent and thread-safe, in any order across chunks.</summary>
    public void Acknowledge()
    {
        if (Interlocked.Exchange(ref _acknowledged, 1) != 0)
        {
            return;
        }

        _acknowledgement.OnAcknowledged(Token, Chunk);
    }

    /// <summary>
    /// Says that nothing reads <see cref="Chunk"/>'s events any more (the send completed): a pooled buffer goes back to
    /// the pool for the input's next chunk. Optional — a chunk never released is simply garbage collected — and
    /// idempotent; the events must not be read afterwards.
    /// </summary>
    public void ReleaseEvents()
    {
        if (Interlocked.Exchange(ref _pooledEvents, null) is { } pooled)
        {
            ChunkBufferPool.Shared.Return(pooled);
        }
    }

    /// <summary>
    /// <see cref="ReleaseEvents"/> then <see cref="Acknowledge"/>: for a sender that is done with the chunk once it is
    /// delivered. In this order because the acknowledgement may let the input read on at once, and its next chunk
    /// should find this buffer back in the pool rather than allocate another.
    /// </summary>
    public void ReleaseEventsAndAcknowledge()
    {
        ReleaseEvents();
        Acknowledge();
    }

    public override string ToString() => $"{Chunk} {Token}";
}

/// <summary>What an input does when one of its chunks is acknowledged (commit the position, count it): once per chunk.</summary>
internal interface IInputChunkAcknowledgement<in TToken>
{
    void OnAcknowledged(TToken token, EventChunk chunk);
}
