using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Gateway.Aggregator.Tests.Fakes.Kinesis;
using Gateway.Aggregator.Tests.Outputs.CloudWatch;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;

namespace Gateway.Aggregator.Tests.Outputs.Kinesis;

/// <summary>The Firehose and Kinesis Data Streams outputs against the SigV4-checking, limit-enforcing fake.</summary>
public sealed class KinesisOutputTests : IAsyncLifetime
{
    private const string DeliveryStream = "eks-fluent-bit-study";
    private const string DataStream = "app-logs";
    private readonly FakeKinesisServer _fake = new();

    public async Task InitializeAsync()
    {
        await _fake.StartAsync();
        _fake.CreateDeliveryStream(DeliveryStream);
        _fake.CreateDataStream(DataStream);
    }

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    private static (string, string)[] Firehose(params (string, string)[] more) =>
        [("region", FakeKinesisServer.Region), ("delivery_stream", DeliveryStream), .. more];

    private static (string, string)[] Streams(params (string, string)[] more) =>
        [("region", FakeKinesisServer.Region), ("stream", DataStream), .. more];

    [Theory]
    [InlineData("kinesis_firehose")]
    [InlineData("firehose")]
    public async Task Firehose_records_are_newline_terminated_json_so_the_s3_object_is_json_lines(string plugin)
    {
        await using var output = KinesisTestData.Output(_fake, KinesisTestData.Section(plugin, Firehose()));
        var chunk = KinesisTestData.Chunk(["""{"name":"fakenerd","time_ms":1577521193704}""", """{"name":"fakenerd","time_ms":1577521194705}"""]);

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None));

        Assert.Equal(
            "{\"name\":\"fakenerd\",\"time_ms\":1577521193704}\n{\"name\":\"fakenerd\",\"time_ms\":1577521194705}\n",
            Encoding.UTF8.GetString(_fake.DeliveredObject(DeliveryStream)));
        Assert.Equal(2, _fake.DeliveryStreamRecords(DeliveryStream).Count);
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Requests_stay_within_500_records_and_4_MiB_and_oversized_records_are_dropped_and_counted()
    {
        await using var output = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_firehose", Firehose()));

        // 1,200 small records: three requests of at most 500.
        var small = KinesisTestData.Chunk(KinesisTestData.Numbered(1200));
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(small, CancellationToken.None));
        Assert.Equal([500, 500, 200], _fake.Calls.Select(c => c.RecordCount));

        // Twelve 600 KB records (within 1,000 KiB each) must be spread over requests under 4 MiB; one 1.1 MB record cannot be sent at all.
        var big = KinesisTestData.Chunk([.. KinesisTestData.Numbered(12, padding: 600_000), .. KinesisTestData.Numbered(1, padding: 1_100_000)]);
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(big, CancellationToken.None));

        Assert.Empty(_fake.Violations);
        Assert.All(_fake.Calls, c => Assert.True(c.DataBytes <= FakeKinesisServer.FirehoseMaxRequestBytes, $"{c.DataBytes} bytes in one call"));
        Assert.Equal(1200 + 12, _fake.DeliveryStreamRecords(DeliveryStream).Count);
        Assert.Equal(1, output.Metrics.DroppedCount);
    }

    [Fact]
    public async Task Partial_failures_resend_only_the_failed_records_and_every_record_arrives_once()
    {
        _fake.RecordFailurePercent = 30;
        _fake.ThrottlePercent = 10;
        _fake.ServerErrorPercent = 5;
        await using var output = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_firehose", Firehose()), s => s with { MaxAttempts = 50 });
        var chunk = KinesisTestData.Chunk(KinesisTestData.Numbered(2000));

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None));

        var seqs = Sequences(_fake.DeliveryStreamRecords(DeliveryStream));
        Assert.Equal(Enumerable.Range(0, 2000), seqs.Order());
        Assert.True(_fake.FailedRecords > 0 && _fake.InjectedFaults > 0, "the fake injected no failures");

        // Accepted requests carried each record once plus exactly the records that failed before.
        var accepted = _fake.Calls.Where(c => c.Outcome == "OK").ToList();
        Assert.Equal(2000 + _fake.FailedRecords, accepted.Sum(c => c.RecordCount));
        Assert.Equal(_fake.FailedRecords, (int)output.Metrics.RetriedCount);
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Without_auto_retry_a_partly_failed_chunk_is_handed_back_and_the_retry_sends_only_what_is_missing()
    {
        _fake.RecordFailurePercent = 40;
        await using var output = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_firehose", Firehose(("auto_retry_requests", "false"))));
        var chunk = KinesisTestData.Chunk(KinesisTestData.Numbered(700));

        Assert.Equal(FlushResult.Retry, await output.FlushAsync(chunk, CancellationToken.None));
        var (result, tries) = await CloudWatchTestData.FlushUntilDoneAsync(output, chunk, maxTries: 60);

        Assert.Equal(FlushResult.Ok, result);
        Assert.True(tries >= 1);
        Assert.Equal(Enumerable.Range(0, 700), Sequences(_fake.DeliveryStreamRecords(DeliveryStream)).Order());
    }

    [Fact]
    public async Task Time_key_log_key_and_compression_shape_each_record_as_fluent_bit_does()
    {
        var time = new EventTime(1_577_521_193, 704_659_587);
        await using (var timed = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_firehose", Firehose(("time_key", "ts"), ("time_key_format", "%Y-%m-%dT%H:%M:%S.%3NZ")))))
        {
            Assert.Equal(FlushResult.Ok, await timed.FlushAsync(KinesisTestData.Chunk(["""{"a":1}""", "{}"], time), CancellationToken.None));
        }

        await using (var logKey = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_firehose", Firehose(("log_key", "log")))))
        {
            Assert.Equal(FlushResult.Ok, await logKey.FlushAsync(KinesisTestData.Chunk(["""{"log":"plain text line","stream":"stdout"}""", """{"log":{"nested":true}}""", """{"other":1}"""]), CancellationToken.None));
            Assert.Equal(1, logKey.Metrics.DroppedCount);
        }

        Assert.Equal(
            "{\"a\":1,\"ts\":\"2019-12-28T08:19:53.704Z\"}\n{\"ts\":\"2019-12-28T08:19:53.704Z\"}\nplain text line\n{\"nested\":true}\n",
            Encoding.UTF8.GetString(_fake.DeliveredObject(DeliveryStream)));

        foreach (var compression in new[] { "gzip", "zstd" })
        {
            var stream = "compressed-" + compression;
            _fake.CreateDeliveryStream(stream);
            var section = KinesisTestData.Section("kinesis_firehose", ("region", FakeKinesisServer.Region), ("delivery_stream", stream), ("compression", compression));
            await using var output = KinesisTestData.Output(_fake, section);
            Assert.Equal(FlushResult.Ok, await output.FlushAsync(KinesisTestData.Chunk(["""{"name":"fakenerd"}""", """{"name":"other"}"""]), CancellationToken.None));
            var texts = _fake.DeliveryStreamRecords(stream).Select(r => Decompress(r.Data, compression)).ToList();
            Assert.Equal(["{\"name\":\"fakenerd\"}\n", "{\"name\":\"other\"}\n"], texts);
        }
    }

    [Fact]
    public async Task Simple_aggregation_packs_records_into_fewer_service_records_each_line_intact()
    {
        await using var output = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_firehose", Firehose(("simple_aggregation", "on"))));
        var chunk = KinesisTestData.Chunk(KinesisTestData.Numbered(3000, padding: 500));

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None));

        var records = _fake.DeliveryStreamRecords(DeliveryStream);
        Assert.True(records.Count < 10, $"{records.Count} service records for 3000 events");
        Assert.All(records, r => Assert.True(r.Data.Length <= FakeKinesisServer.FirehoseMaxRecordBytes));
        Assert.Equal(Enumerable.Range(0, 3000), Sequences(records));
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Kinesis_streams_send_random_partition_keys_or_the_partition_key_field_within_5_MiB()
    {
        await using (var random = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_streams", Streams())))
        {
            // 800 KB records: at most six fit under 5 MiB, so 14 need at least three requests.
            Assert.Equal(FlushResult.Ok, await random.FlushAsync(KinesisTestData.Chunk(KinesisTestData.Numbered(14, padding: 800_000)), CancellationToken.None));
        }

        var stored = _fake.DataStreamRecords(DataStream);
        Assert.Equal(Enumerable.Range(0, 14), Sequences(stored));
        Assert.All(stored, r => Assert.Matches("^[0-9a-f]{16}$", r.PartitionKey));
        Assert.True(stored.Select(r => r.PartitionKey).Distinct().Count() > 1);
        Assert.True(_fake.Calls.Count >= 3);
        Assert.All(_fake.Calls, c => Assert.True(c.DataBytes <= FakeKinesisServer.StreamsMaxRequestBytes));

        _fake.CreateDataStream("keyed");
        var keyedSection = KinesisTestData.Section("kinesis", ("region", FakeKinesisServer.Region), ("stream", "keyed"), ("partition_key", "pod"), ("append_newline", "on"));
        await using (var keyed = KinesisTestData.Output(_fake, keyedSection))
        {
            _fake.RecordFailurePercent = 30;
            Assert.Equal(FlushResult.Ok, await keyed.FlushAsync(KinesisTestData.Chunk(["""{"pod":"web-1","n":1}""", """{"pod":"web-2","n":2}""", """{"n":3}""", """{"pod":"q\"x\\y\t","n":4}"""]), CancellationToken.None));
        }

        var keyedRecords = _fake.DataStreamRecords("keyed").ToDictionary(r => Encoding.UTF8.GetString(r.Data), r => r.PartitionKey, StringComparer.Ordinal);
        Assert.Equal(4, keyedRecords.Count);
        Assert.Equal("q\"x\\y\t", keyedRecords["{\"pod\":\"q\\\"x\\\\y\\t\",\"n\":4}\n"]);
        Assert.Equal("web-1", keyedRecords["{\"pod\":\"web-1\",\"n\":1}\n"]);
        Assert.Equal("web-2", keyedRecords["{\"pod\":\"web-2\",\"n\":2}\n"]);
        Assert.Matches("^[0-9a-f]{16}$", keyedRecords["{\"n\":3}\n"]);
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Data_keys_of_the_go_firehose_plugin_keep_only_the_listed_keys()
    {
        await using var output = KinesisTestData.Output(_fake, KinesisTestData.Section("firehose", Firehose(("data_keys", "name, time_ms"))));
        var chunk = KinesisTestData.Chunk(["""{"log":"x","name":"fakenerd","stream":"stdout","time_ms":1577521193704}""", """{"other":true}"""]);

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None));

        Assert.Equal("{\"name\":\"fakenerd\",\"time_ms\":1577521193704}\n{}\n", Encoding.UTF8.GetString(_fake.DeliveredObject(DeliveryStream)));
    }

    [Fact]
    public async Task The_go_kinesis_plugin_sends_records_without_a_newline_unless_asked()
    {
        await using var output = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis", Streams()));
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(KinesisTestData.Chunk(["""{"a":1}"""]), CancellationToken.None));
        Assert.Equal("{\"a\":1}", Encoding.UTF8.GetString(Assert.Single(_fake.DataStreamRecords(DataStream)).Data));
    }

    [Fact]
    public async Task Missing_stream_or_denied_credentials_keep_the_chunk_for_a_retry()
    {
        await using (var missing = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_firehose", ("region", FakeKinesisServer.Region), ("delivery_stream", "not-created"))))
        {
            Assert.Equal(FlushResult.Retry, await missing.FlushAsync(KinesisTestData.Chunk(["""{"a":1}"""]), CancellationToken.None));
        }

        _fake.DenyAll = true;
        await using var denied = KinesisTestData.Output(_fake, KinesisTestData.Section("kinesis_firehose", Firehose()));
        var chunk = KinesisTestData.Chunk(["""{"a":1}"""]);
        Assert.Equal(FlushResult.Retry, await denied.FlushAsync(chunk, CancellationToken.None));

        _fake.DenyAll = false;
        Assert.Equal(FlushResult.Ok, await denied.FlushAsync(chunk, CancellationToken.None));
        Assert.Single(_fake.DeliveryStreamRecords(DeliveryStream));
    }

    [Fact]
    public async Task A_wrong_secret_is_refused_by_the_fakes_signature_check()
    {
        var section = KinesisTestData.Section("kinesis_firehose", Firehose());
        var settings = Gateway.Aggregator.Outputs.Kinesis.KinesisOutputFactory.ReadSettings(section, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance) with { Endpoint = _fake.Endpoint };
        using var client = Gateway.Engine.Aws.KinesisRecordsClient.Create(settings.Service, settings.Region, settings.Endpoint, new Amazon.Runtime.BasicAWSCredentials(FakeKinesisServer.AccessKey, "wrong-secret"));
        var data = "{}\n"u8.ToArray();
        var result = await client.PutRecordsAsync(DeliveryStream, data, ReadOnlyMemory<byte>.Empty, new[] { new Gateway.Engine.Aws.KinesisRecordSlice(0, data.Length, 0, 0) }, CancellationToken.None);

        Assert.Equal("InvalidSignatureException", result.Response.ErrorType);
        Assert.Empty(_fake.DeliveryStreamRecords(DeliveryStream));
    }

    private static List<int> Sequences(IEnumerable<StoredKinesisRecord> records)
    {
        var seqs = new List<int>();
        foreach (var record in records)
        {
            foreach (var line in Encoding.UTF8.GetString(record.Data).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                seqs.Add(JsonDocument.Parse(line).RootElement.GetProperty("seq").GetInt32());
            }
        }

        return seqs;
    }

    private static string Decompress(byte[] data, string compression)
    {
        if (compression == "gzip")
        {
            using var gzip = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
            using var reader = new StreamReader(gzip, Encoding.UTF8);
            return reader.ReadToEnd();
        }

        using var zstd = new ZstdSharp.Decompressor();
        return Encoding.UTF8.GetString(zstd.Unwrap(data));
    }
}
