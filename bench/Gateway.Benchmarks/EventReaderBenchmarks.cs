using BenchmarkDotNet.Attributes;
using Gateway.Engine.Records;

namespace Gateway.Benchmarks;

/// <summary>The zero-copy walk every output and filter does over a chunk.</summary>
[MemoryDiagnoser]
public class EventReaderBenchmarks
{
    private ReadOnlyMemory<byte> _chunk;

    [Params(1000)]
    public int Events { get; set; }

    [GlobalSetup]
    public void Setup() => _chunk = BenchmarkData.Events(Events);

    [Benchmark]
    public long WalkChunk()
    {
        var reader = new EventReader(_chunk);
        long total = 0;
        while (reader.TryRead(out var view))
        {
            total += view.Record.Length + view.Time.Nanoseconds;
        }

        return total;
    }
}
