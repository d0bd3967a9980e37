using Gateway.Engine.Records;
using Gateway.Shipper.State;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>
/// What the tail input hands downstream: an <see cref="EventChunk"/> (one file's tag, msgpack
/// <c>[EventTime, {record}]</c> events) and the <see cref="TailCommitToken"/> saying which file bytes it covers.
/// Call <see cref="Acknowledge"/> only when the aggregator acknowledged the chunk: that is what lets the file's
/// offset move in the DB. A chunk never acknowledged is read again after a restart.
/// </summary>
public sealed class TailChunk
{
    private readonly TailCommitTracker _tracker;
    private readonly TailInputStats _stats;
    private int _acknowledged;

    internal TailChunk(EventChunk chunk, TailCommitToken token, TailCommitTracker tracker, TailInputStats stats)
    {
        Chunk = chunk;
        Token = token;
        _tracker = tracker;
        _stats = stats;
    }

    /// <summary>The events; the memory belongs to this chunk and stays valid for as long as it is referenced.</summary>
    public EventChunk Chunk { get; }

    public TailCommitToken Token { get; }

    public bool IsAcknowledged => Volatile.Read(ref _acknowledged) != 0;

    /// <summary>Marks the chunk delivered; idempotent and thread-safe, in any order across chunks.</summary>
    public void Acknowledge()
    {
        if (Interlocked.Exchange(ref _acknowledged, 1) != 0)
        {
            return;
        }

        _tracker.Acknowledge(Token);
        _stats.OnAcknowledged(Chunk);
    }

    public override string ToString() => $"{Chunk} {Token}";
}
