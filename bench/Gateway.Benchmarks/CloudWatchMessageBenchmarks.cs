using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Aggregator.Outputs.CloudWatch;
using Gateway.Engine.Json;
using Gateway.Engine.Records;

namespace Gateway.Benchmarks;

/// <summary>
/// The CloudWatch output's per-record work on 1000 records: JSON, then stored escaped in pages (what a request
/// streams). The escape step alone: the output's byte loop against the IndexOfAny loop it replaced, on the same JSON.
/// </summary>
[MemoryDiagnoser]
public class CloudWatchMessageBenchmarks
{
    private readonly ArrayBufferWriter<byte> _json = new(512 * 1024);
    private readonly byte[] _escaped = new byte[1024 * 1024];
    private readonly CloudWatchPagePool _pool = new(256);
    private readonly List<(int Start, int Length)> _messages = [];
    private ReadOnlyMemory<byte> _chunk;
    private ReadOnlyMemory<byte> _enriched;

    [GlobalSetup]
    public void Setup()
    {
        _chunk = BenchmarkData.Events(1000);
        _enriched = FilterChainBenchmarks.EnrichedEvents(1000);
        var reader = new EventReader(_chunk);
        while (reader.TryRead(out var view))
        {
            var start = _json.WrittenCount;
            FluentJson.WriteValue(view.Record.Span, _json);
            _messages.Add((start, _json.WrittenCount - start));
        }
    }

    [Benchmark]
    public int FormatAndStoreEscaped() => FormatAndStore(_chunk);

    /// <summary>The same for kubernetes-enriched records (nested maps: labels, annotations), the benchmark load's shape.</summary>
    [Benchmark]
    public int FormatAndStoreEscapedEnriched() => FormatAndStore(_enriched);

    private int FormatAndStore(ReadOnlyMemory<byte> chunk)
    {
        // As the output does: each message into its (rewindable) scratch buffer, then stored escaped.
        using var pages = new CloudWatchMessagePages(_pool);
        using var scratch = new CloudWatchMessageBuffer(4096, ArrayPool<byte>.Shared);
        var reader = new EventReader(chunk);
        while (reader.TryRead(out var view))
        {
            scratch.Truncate(0);
            FluentJson.WriteValue(view.Record.Span, scratch);
            pages.WriteEscapedAsciiJson(scratch.WrittenSpan);
        }

        return pages.WrittenCount;
    }

    [Benchmark(Baseline = true)]
    public int EscapeIndexOfAny()
    {
        var json = _json.WrittenSpan;
        var written = 0;
        foreach (var (start, length) in _messages)
        {
            written += EscapeWithIndexOfAny(json.Slice(start, length), _escaped.AsSpan(written));
        }

        return written;
    }

    [Benchmark]
    public int EscapeByteLoop()
    {
        var json = _json.WrittenSpan;
        var written = 0;
        foreach (var (start, length) in _messages)
        {
            written += CloudWatchMessagePages.EscapeAsciiJson(json.Slice(start, length), _escaped.AsSpan(written));
        }

        return written;
    }

    /// <summary>The escape loop before 2026-11-26: a vectorized search for the next quote or backslash.</summary>
    private static int EscapeWithIndexOfAny(ReadOnlySpan<byte> json, Span<byte> destination)
    {
        var written = 0;
        while (true)
        {
            var next = json.IndexOfAny((byte)'"', (byte)'\\');
            if (next < 0)
            {
                json.CopyTo(destination[written..]);
                return written + json.Length;
            }

            json[..next].CopyTo(destination[written..]);
            written += next;
            destination[written++] = (byte)'\\';
            destination[written++] = json[next];
            json = json[(next + 1)..];
        }
    }
}
