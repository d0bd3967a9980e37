using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Buffer;

/// <summary>
/// The buffer's counters. Values live in plain fields updated with <see cref="Interlocked"/> (one add per chunk,
/// never per record) and are exported as observable instruments on the <c>Gateway</c> meter, so tests read the
/// same numbers an operator scrapes.
/// </summary>
internal sealed class BufferMetrics : IDisposable
{
    public const string MeterName = "Gateway";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private long _chunksAppended;
    private long _recordsAppended;
    private long _bytesAppended;
    private long _backpressureWaits;
    private long _replayedChunks;
    private long _tornRecordsTruncated;
    private long _unroutedChunks;
    private long _unroutedRecords;

    public BufferMetrics(Func<long> memoryBytes, Func<long> diskBytes, IMeterFactory? meterFactory = null)
    {
        // A factory's meter is shared and disposed by the factory; only a meter made here is ours to dispose.
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _meter.CreateObservableCounter("gateway.buffer.chunks_appended", () => ChunksAppended, "{chunk}", "Chunks accepted into the buffer");
        _meter.CreateObservableCounter("gateway.buffer.records_appended", () => RecordsAppended, "{record}", "Records accepted into the buffer");
        _meter.CreateObservableCounter("gateway.buffer.bytes_appended", () => BytesAppended, "By", "Event bytes accepted into the buffer");
        _meter.CreateObservableCounter("gateway.buffer.backpressure_waits", () => BackpressureWaits, "{wait}", "Appends that had to wait for memory or disk budget");
        _meter.CreateObservableCounter("gateway.buffer.replayed_chunks", () => ReplayedChunks, "{chunk}", "Chunks re-queued from disk at startup");
        _meter.CreateObservableCounter("gateway.buffer.torn_records_truncated", () => TornRecordsTruncated, "{record}", "Torn tails cut from segment or journal files, and corrupt chunks skipped, at startup");
        _meter.CreateObservableCounter("gateway.router.unrouted_chunks", () => UnroutedChunks, "{chunk}", "Chunks whose tag matched no output (dropped, as Fluent Bit does)");
        _meter.CreateObservableCounter("gateway.router.unrouted_records", () => UnroutedRecords, "{record}", "Records whose tag matched no output");
        _meter.CreateObservableGauge("gateway.buffer.memory_bytes", memoryBytes, "By", "Chunk bytes held in memory");
        _meter.CreateObservableGauge("gateway.buffer.disk_bytes", diskBytes, "By", "Bytes of segment files on disk");
    }

    public Meter Meter => _meter;

    public long ChunksAppended => Volatile.Read(ref _chunksAppended);

    public long RecordsAppended => Volatile.Read(ref _recordsAppended);

    public long BytesAppended => Volatile.Read(ref _bytesAppended);

    public long BackpressureWaits => Volatile.Read(ref _backpressureWaits);

    public long ReplayedChunks => Volatile.Read(ref _replayedChunks);

    public long TornRecordsTruncated => Volatile.Read(ref _tornRecordsTruncated);

    public long UnroutedChunks => Volatile.Read(ref _unroutedChunks);

    public long UnroutedRecords => Volatile.Read(ref _unroutedRecords);

    public void Appended(int records, int bytes)
    {
        Interlocked.Increment(ref _chunksAppended);
        Interlocked.Add(ref _recordsAppended, records);
        Interlocked.Add(ref _bytesAppended, bytes);
    }

    public void BackpressureWaited() => Interlocked.Increment(ref _backpressureWaits);

    public void Replayed() => Interlocked.Increment(ref _replayedChunks);

    public void TornRecordTruncated() => Interlocked.Increment(ref _tornRecordsTruncated);

    public void Unrouted(int records)
    {
        Interlocked.Increment(ref _unroutedChunks);
        Interlocked.Add(ref _unroutedRecords, records);
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }
}
