using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.Records;

namespace Gateway.Benchmarks;

/// <summary>msgpack record → Fluent Bit-compatible JSON, the cost of every JSON-speaking output.</summary>
[MemoryDiagnoser]
public class JsonBenchmarks
{
    private ReadOnlyMemory<byte> _chunk;
    private readonly ArrayBufferWriter<byte> _output = new(4 * 1024 * 1024);
    private readonly PooledBufferWriter _rewindable = new(4 * 1024 * 1024);
    private ReadOnlyMemory<byte> _enriched;

    [GlobalSetup]
    public void Setup()
    {
        _chunk = BenchmarkData.Events(1000);
        _enriched = FilterChainBenchmarks.EnrichedEvents(1000);
    }

    /// <summary>Into a plain writer: FluentJson finds repeated map keys in a first pass over each map.</summary>
    [Benchmark]
    public int ChunkRecordsToJson()
    {
        _output.ResetWrittenCount();
        return RecordsToJson(_chunk, _output);
    }

    /// <summary>The same into a rewindable writer: maps are written in one pass (rewound only on a repeated key).</summary>
    [Benchmark]
    public int ChunkRecordsToJsonOnePassMaps()
    {
        _rewindable.Reset();
        return RecordsToJson(_chunk, _rewindable);
    }

    /// <summary>Kubernetes-enriched records (nested maps), two passes per map vs one.</summary>
    [Benchmark]
    public int EnrichedRecordsToJson()
    {
        _output.ResetWrittenCount();
        return RecordsToJson(_enriched, _output);
    }

    [Benchmark]
    public int EnrichedRecordsToJsonOnePassMaps()
    {
        _rewindable.Reset();
        return RecordsToJson(_enriched, _rewindable);
    }

    private static int RecordsToJson(ReadOnlyMemory<byte> chunk, IBufferWriter<byte> output)
    {
        var reader = new EventReader(chunk);
        var records = 0;
        while (reader.TryRead(out var view))
        {
            FluentJson.WriteValue(view.Record.Span, output);
            records++;
        }

        return records;
    }
}
