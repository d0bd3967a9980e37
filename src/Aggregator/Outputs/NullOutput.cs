using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;

namespace Gateway.Aggregator.Outputs;

/// <summary>Fluent Bit's <c>null</c> output: accepts and discards everything, counting what it threw away.</summary>
internal sealed class NullOutput : IOutput
{
    private readonly OutputMetrics _metrics;
    private long _records;
    private long _chunks;
    private long _bytes;

    public NullOutput(string name)
    {
        Name = name;
        _metrics = new OutputMetrics(name);
    }

    public string Name { get; }

    public long RecordCount => Interlocked.Read(ref _records);

    public long ChunkCount => Interlocked.Read(ref _chunks);

    public long ByteCount => Interlocked.Read(ref _bytes);

    public ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        Interlocked.Add(ref _records, chunk.EventCount);
        Interlocked.Add(ref _bytes, chunk.ByteLength);
        Interlocked.Increment(ref _chunks);
        _metrics.Delivered(chunk.EventCount, chunk.ByteLength);
        return ValueTask.FromResult(FlushResult.Ok);
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
