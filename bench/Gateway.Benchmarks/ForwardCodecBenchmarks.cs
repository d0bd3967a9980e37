using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Protos.Forward;

namespace Gateway.Benchmarks;

/// <summary>The forward input's per-message work: decode (and decompress) a PackedForward frame.</summary>
[MemoryDiagnoser]
public class ForwardCodecBenchmarks
{
    private ReadOnlySequence<byte> _packed;
    private ReadOnlySequence<byte> _gzip;
    private ReadOnlyMemory<byte> _events;
    private readonly ArrayBufferWriter<byte> _output = new(512 * 1024);
    private readonly ForwardMessageDecoder _decoder = new();

    [GlobalSetup]
    public void Setup()
    {
        _events = BenchmarkData.Events(1000);
        _packed = Frame(ForwardCompression.None);
        _gzip = Frame(ForwardCompression.Gzip);
    }

    [Benchmark(Baseline = true)]
    public int DecodePackedForward() => Decode(_packed);

    [Benchmark]
    public int DecodeCompressedPackedForward() => Decode(_gzip);

    [Benchmark]
    public int WritePackedForward()
    {
        _output.ResetWrittenCount();
        ForwardMessageWriter.WritePackedForward(_output, "kube.var.log.containers.app", _events.Span, 1000, "AAAAAAAAAAAAAAAAAAAAAA==");
        return _output.WrittenCount;
    }

    private int Decode(ReadOnlySequence<byte> frame)
    {
        var status = _decoder.TryDecode(frame, out var message, out var error, out _);
        if (status != ForwardDecodeStatus.Message)
        {
            throw new InvalidOperationException($"benchmark frame did not decode: {status} {error}");
        }

        return message!.EventCount;
    }

    private ReadOnlySequence<byte> Frame(ForwardCompression compression)
    {
        var output = new ArrayBufferWriter<byte>();
        ForwardMessageWriter.WritePackedForward(output, "kube.var.log.containers.app", _events.Span, 1000, "AAAAAAAAAAAAAAAAAAAAAA==", compression);
        return new ReadOnlySequence<byte>(output.WrittenMemory);
    }
}
