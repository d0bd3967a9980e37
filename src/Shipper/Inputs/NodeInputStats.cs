using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gateway.Engine.Records;

namespace Gateway.Shipper.Inputs;

/// <summary>
/// What every node input counts the same way — chunks and records handed downstream, chunks and records the
/// aggregator acknowledged, pauses on <c>Mem_Buf_Limit</c> — readable in process and published on the
/// <c>Gateway</c> meter as <c>gateway.&lt;plugin&gt;.*</c>. Each input's stats add what only that input has.
/// </summary>
public abstract class NodeInputStats
{
    private protected static readonly Meter Meter = new("Gateway");

    private readonly Counters _counters;
    private long _recordsOut;
    private long _chunksOut;
    private long _chunksAcknowledged;
    private long _recordsAcknowledged;
    private long _pauses;

    private protected NodeInputStats(Counters counters, string inputName)
    {
        _counters = counters;
        Tags = new TagList { { "input", inputName } };
    }

    public long RecordsOut => Interlocked.Read(ref _recordsOut);

    public long ChunksOut => Interlocked.Read(ref _chunksOut);

    public long ChunksAcknowledged => Interlocked.Read(ref _chunksAcknowledged);

    public long RecordsAcknowledged => Interlocked.Read(ref _recordsAcknowledged);

    public long Pauses => Interlocked.Read(ref _pauses);

    /// <summary>The <c>input</c> tag every instrument of this input is recorded with.</summary>
    private protected TagList Tags { get; }

    internal void OnChunk(EventChunk chunk)
    {
        Interlocked.Increment(ref _chunksOut);
        Interlocked.Add(ref _recordsOut, chunk.EventCount);
        _counters.Chunks.Add(1, Tags);
        _counters.Records.Add(chunk.EventCount, Tags);
    }

    internal void OnAcknowledged(EventChunk chunk)
    {
        Interlocked.Increment(ref _chunksAcknowledged);
        Interlocked.Add(ref _recordsAcknowledged, chunk.EventCount);
        _counters.Acknowledged.Add(1, Tags);
    }

    internal void OnPause()
    {
        Interlocked.Increment(ref _pauses);
        _counters.Pauses.Add(1, Tags);
    }

    /// <summary>One plugin's shared instruments, created once per plugin (not per input instance).</summary>
    private protected sealed class Counters(string prefix)
    {
        public Counter<long> Records { get; } = Meter.CreateCounter<long>(prefix + ".records_out", description: "Records handed downstream");

        public Counter<long> Chunks { get; } = Meter.CreateCounter<long>(prefix + ".chunks_out", description: "Chunks handed downstream");

        public Counter<long> Acknowledged { get; } = Meter.CreateCounter<long>(prefix + ".chunks_acked", description: "Chunks acknowledged downstream");

        public Counter<long> Pauses { get; } = Meter.CreateCounter<long>(prefix + ".paused", description: "Times reading paused on Mem_Buf_Limit");
    }
}
