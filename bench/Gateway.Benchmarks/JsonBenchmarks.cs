using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Engine.Json;
using Gateway.Engine.Records;

namespace Gateway.Benchmarks;

/// <summary>msgpack record → Fluent Bit-compatible JSON, the cost of every JSON-speaking output.</summary>
[MemoryDiagnoser]
public class JsonBenchmarks
{
    private ReadOnlyMemory<byte> _chunk;
    private readonly ArrayBufferWriter<byte> _output = new(512 * 1024);

    [GlobalSetup]
    public void Setup() => _chunk = BenchmarkData.Events(1000);

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
}
