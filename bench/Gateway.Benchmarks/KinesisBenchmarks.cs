using BenchmarkDotNet.Attributes;
using Gateway.Aggregator.Outputs.Kinesis;
using Gateway.Engine.Aws;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.Records;

namespace Gateway.Benchmarks;

/// <summary>
/// The Firehose/Kinesis output's CPU work per flush, without the network: one chunk turned into newline-terminated
/// JSON records (optionally compressed one by one) cut into requests, and the PutRecordBatch body (base64) built.
/// </summary>
[MemoryDiagnoser]
public class KinesisBenchmarks
{
    private EventChunk _chunk = null!;
    private KinesisOutputSettings _settings = null!;
    private readonly PooledBufferWriter _body = new(512 * 1024);

    [Params("none", "gzip", "zstd")]
    public string Compression { get; set; } = "none";

    /// <summary><c>simple_aggregation</c>: many records per service record, so one compression per ~1 MB instead of per record.</summary>
    [Params(false, true)]
    public bool Aggregate { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _chunk = new EventChunk("kube.app", BenchmarkData.Events(1000), 1000);
        _settings = new KinesisOutputSettings
        {
            Service = KinesisService.Firehose,
            Plugin = "kinesis_firehose",
            Region = "us-east-1",
            StreamName = "bench",
            SimpleAggregation = Aggregate,
            Compression = Compression switch
            {
                "gzip" => KinesisCompression.Gzip,
                "zstd" => KinesisCompression.Zstd,
                _ => KinesisCompression.None,
            },
        };
    }

    [Benchmark]
    public int PlanAndEncodeRequests()
    {
        using var plan = KinesisFlushPlan.Build(_chunk, _settings, logKey: null, partitionKey: null, dataKeys: null, FluentJsonFlags.None);
        var bytes = 0;
        foreach (var (first, count) in plan.Requests)
        {
            _body.Reset();
            KinesisRecordsClient.WriteBody(_body, firehose: true, "bench", plan.Data.Span, plan.Keys.Span, plan.Records.Slice(first, count));
            bytes += _body.WrittenCount;
        }

        return bytes;
    }
}
