using Gateway.Engine.Records;

namespace Gateway.Shipper.Inputs.Systemd;

/// <summary>
/// What the systemd input hands downstream: an <see cref="EventChunk"/> (one tag, <c>[EventTime, {fields}]</c>
/// events) and the <see cref="JournalCursorToken"/> naming the cursor of its last entry. Call
/// <see cref="Acknowledge"/> only once the aggregator acknowledged the chunk: that is what lets the cursor move in
/// the DB. Entries of a chunk never acknowledged are read again after a restart.
/// </summary>
public sealed class SystemdChunk
{
    private readonly JournalCursorTracker _tracker;
    private readonly SystemdInputStats _stats;
    private int _acknowledged;

    internal SystemdChunk(EventChunk chunk, JournalCursorToken token, JournalCursorTracker tracker, SystemdInputStats stats)
    {
        Chunk = chunk;
        Token = token;
        _tracker = tracker;
        _stats = stats;
    }

    /// <summary>The events; the memory belongs to this chunk.</summary>
    public EventChunk Chunk { get; }

    public JournalCursorToken Token { get; }

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
