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

    [Benchmark]
    public int ChunkRecordsToJson()
    {
        _output.ResetWrittenCount();
        var reader = new EventReader(_chunk);
        while (reader.TryRead(out var view))
        {
            FluentJson.WriteValue(view.Record.Span, _output);
        }

        return _output.WrittenCount;
    }

    /// <summary>The same into a rewindable writer: maps are written in one pass (rewound only on a repeated key).</summary>
    [Benchmark]
    public int ChunkRecordsToJsonOnePassMaps()
    {
        _rewindable.Reset();
        var reader = new EventReader(_chunk);
        while (reader.TryRead(out var view))
        {
            FluentJson.WriteValue(view.Record.Span, _rewindable);
        }

        return _rewindable.WrittenCount;
    }

    /// <summary>Kubernetes-enriched records (nested maps), two passes per map vs one.</summary>
    [Benchmark]
    public int EnrichedRecordsToJson()
    {
        _output.ResetWrittenCount();
        var reader = new EventReader(_enriched);
        while (reader.TryRead(out var view))
        {
            FluentJson.WriteValue(view.Record.Span, _output);
        }

        return _output.WrittenCount;
    }

    [Benchmark]
    public int EnrichedRecordsToJsonOnePassMaps()
    {
        _rewindable.Reset();
        var reader = new EventReader(_enriched);
        while (reader.TryRead(out var view))
        {
            FluentJson.WriteValue(view.Record.Span, _rewindable);
        }

        return _rewindable.WrittenCount;
    }
}
