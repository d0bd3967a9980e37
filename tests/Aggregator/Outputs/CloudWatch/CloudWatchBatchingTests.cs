using Gateway.Aggregator.Outputs.CloudWatch;
using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Engine.Routing;
using Gateway.Aggregator.Tests.Engine;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Gateway.Aggregator.Tests.Outputs.CloudWatch.CloudWatchTestData;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

/// <summary>
/// Issue 5, acceptance 3: requests are cut across chunks — a hot stream gets full requests (10,000 events or
/// 1 MiB), a quiet one is sent once the Flush interval is over, and through the engine the requests are far fewer
/// than the chunks. The fake refuses any request over the limits (its <c>Violations</c> must stay empty).
/// </summary>
public sealed class CloudWatchBatchingTests : IAsyncLifetime
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(5);

    private readonly FakeCloudWatchLogsServer _fake = new();

    public Task InitializeAsync() => _fake.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public async Task A_hot_stream_fed_by_many_small_chunks_gets_full_10000_event_requests()
    {
        // Time stands still: nothing may go out because an interval passed, only because a request is full.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var output = Output(WithEndpoint(Basic(), _fake.Endpoint), time: time, flushInterval: FlushInterval);
        var now = NowMs - 60_000;
        var flushes = new List<Task<FlushResult>>();
        for (var c = 0; c < 30; c++)
        {
            // 30 chunks of 1,000 records, as Fluent Bit's forward chunks (≤ 975 records) come in.
            var events = Enumerable.Range(0, 1_000).Select(i => (now + (c * 1_000) + i, $"c{c}-e{i}")).ToList();
            flushes.Add(output.FlushAsync(Chunk("app", events), default).AsTask());
        }

        var results = await Task.WhenAll(flushes).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(results, r => Assert.Equal(FlushResult.Ok, r));
        Assert.Equal([10_000, 10_000, 10_000], _fake.PutCalls.Where(c => c.Outcome == "OK").Select(c => c.EventCount));
        var stored = _fake.Events("g", "s-app");
        Assert.Equal(30_000, stored.Count);
        Assert.Equal(30_000, stored.Select(e => e.Message).Distinct().Count());
        Assert.True(stored.Zip(stored.Skip(1)).All(p => p.First.Timestamp <= p.Second.Timestamp), "stream out of time order");
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Large_records_from_many_chunks_fill_requests_up_to_1_MiB()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var section = Section("cloudwatch_logs", ("region", FakeCloudWatchLogsServer.Region), ("log_group_name", "g"), ("log_stream_name", "big"), ("log_key", "log"), ("auto_create_group", "true"));
        await using var output = Output(WithEndpoint(section, _fake.Endpoint), time: time, flushInterval: FlushInterval);
        var now = NowMs - 60_000;
        var message = new string('x', 3_000);
        var flushes = new List<Task<FlushResult>>();
        for (var c = 0; c < 10; c++)
        {
            var events = Enumerable.Range(0, 100).Select(i => (now + (c * 100) + i, message)).ToList();
            flushes.Add(output.FlushAsync(Chunk("app", events), default).AsTask());
        }

        // 1,000 records of 3,026 request bytes: two full requests of 346 go at once, 308 wait for the interval.
        await Eventually.TrueAsync(() => _fake.PutCalls.Count(c => c.Outcome == "OK") == 2, "two full requests");
        Assert.False(flushes[^1].IsCompleted, "the last chunk's records went out before the flush interval");
        time.Advance(FlushInterval);
        var results = await Task.WhenAll(flushes).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.All(results, r => Assert.Equal(FlushResult.Ok, r));
        var puts = _fake.PutCalls.Where(c => c.Outcome == "OK").ToList();
        Assert.Equal([346, 346, 308], puts.Select(p => p.EventCount));
        Assert.All(puts.Take(2), p => Assert.InRange(p.BatchBytes, FakeCloudWatchLogsServer.MaxBatchBytes - 3_026, FakeCloudWatchLogsServer.MaxBatchBytes));
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task A_quiet_stream_is_sent_when_the_flush_interval_is_over()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var output = Output(WithEndpoint(Basic(), _fake.Endpoint), time: time, flushInterval: FlushInterval);

        var flush = output.FlushAsync(Chunk("quiet", [(NowMs, "a"), (NowMs, "b"), (NowMs, "c")]), default).AsTask();
        time.Advance(FlushInterval - TimeSpan.FromMilliseconds(1));
        await Task.Delay(200);
        Assert.False(flush.IsCompleted, "a partial request went out before the flush interval");
        Assert.DoesNotContain(_fake.PutCalls, c => c.Outcome == "OK");

        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(FlushResult.Ok, await flush.WaitAsync(TimeSpan.FromSeconds(30)));

        var put = Assert.Single(_fake.PutCalls, c => c.Outcome == "OK");
        Assert.Equal(3, put.EventCount);
        Assert.Equal(3, _fake.Events("g", "s-quiet").Count);
    }

    [Fact]
    public async Task A_retry_after_a_shared_request_failed_sends_only_the_records_not_delivered()
    {
        var section = Section("cloudwatch_logs", ("region", FakeCloudWatchLogsServer.Region), ("log_group_name", "g"), ("log_stream_name", "one"), ("auto_create_group", "true"), ("auto_retry_requests", "false"));
        await using var output = Output(WithEndpoint(section, _fake.Endpoint));
        var now = NowMs - 60_000;
        var chunks = Enumerable.Range(0, 12)
            .Select(c => Chunk("app", Enumerable.Range(0, 2_500).Select(i => (now + (c * 2_500) + i, $"c{c}-{i}")).ToList()))
            .ToList();
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("warmup", [(now, "w")]), default));
        _fake.ThrottlePercent = 30;

        // Every chunk is retried (as the engine would) until Ok; requests carry records of several chunks.
        var results = await Task.WhenAll(chunks.Select(c => FlushUntilDoneAsync(output, c, maxTries: 200))).WaitAsync(TimeSpan.FromSeconds(120));

        Assert.All(results, r => Assert.Equal(FlushResult.Ok, r.Result));
        var messages = _fake.Events("g", "one").Select(e => e.Message).ToList();
        Assert.Equal(30_001, messages.Count);
        Assert.Equal(30_001, messages.Distinct().Count());
        Assert.Empty(_fake.Violations);
    }

    /// <summary>
    /// The engine keeps many chunks in the output at once (its in-flight window), so requests fill across
    /// chunks: 240 chunks of 500 records on two streams are sent in far fewer than 240 / 5 requests.
    /// </summary>
    [Fact]
    public async Task Through_the_engine_requests_are_at_least_five_times_fewer_than_chunks()
    {
        var output = Output(WithEndpoint(Basic(), _fake.Endpoint), flushInterval: TimeSpan.FromMilliseconds(500));
        var engine = new AggregatorEngine(
            new BufferOptions(),
            [new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(5, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(100)))],
            null,
            NullLoggerFactory.Instance);
        await using var _ = engine;
        await TestEngines.StartAsync(engine);
        var now = NowMs - 60_000;
        const int Chunks = 240;
        for (var c = 0; c < Chunks; c++)
        {
            var tag = c % 2 == 0 ? "app.even" : "app.odd";
            var events = Enumerable.Range(0, 500).Select(i => (now + (c * 500) + i, $"c{c}-{i}")).ToList();
            await engine.AppendAsync(Chunk(tag, events), CancellationToken.None);
        }

        var dispatcher = engine.Outputs[0];
        await Eventually.TrueAsync(() => dispatcher.FlushedChunks == Chunks, "every chunk flushed", TimeSpan.FromSeconds(60));

        var puts = _fake.PutCalls.Where(c => c.Outcome == "OK").ToList();
        Assert.Equal(120_000, puts.Sum(p => p.EventCount));
        Assert.True(puts.Count * 5 <= Chunks, $"{puts.Count} requests for {Chunks} chunks");
        Assert.Equal(60_000, _fake.Events("g", "s-app.even").Count);
        Assert.Equal(60_000, _fake.Events("g", "s-app.odd").Count);
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Past_its_held_bytes_the_output_sends_what_it_has_and_has_no_room_until_that_is_delivered()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var output = Output(WithEndpoint(Basic(), _fake.Endpoint), time: time, flushInterval: FlushInterval, maxHeldBytes: 10_000);
        Assert.True(output.WaitForRoomAsync(default).IsCompleted);
        var now = NowMs - 60_000;

        var small = output.FlushAsync(Chunk("a", [(now, "small")]), default).AsTask();
        Assert.True(output.WaitForRoomAsync(default).IsCompleted, "one small record is within the bound");
        var big = output.FlushAsync(Chunk("b", Enumerable.Range(0, 200).Select(i => (now + i, new string('x', 100))).ToList()), default).AsTask();
        var room = output.WaitForRoomAsync(default).AsTask();

        // Over the bound: both streams went out without waiting for the (frozen) flush interval, then room is back.
        Assert.Equal([FlushResult.Ok, FlushResult.Ok], await Task.WhenAll(small, big).WaitAsync(TimeSpan.FromSeconds(30)));
        await room.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(2, _fake.PutCalls.Count(c => c.Outcome == "OK"));
    }

    [Theory]
    [InlineData("{\"log\":\"plain\"}")]
    [InlineData("{\"log\":\"quote \\\" and backslash \\\\ and \\u00e9 and \\n\"}")]
    [InlineData("")]
    public void Json_text_escaped_as_a_string_reads_back_as_the_same_text(string json)
    {
        // Stored escaped across 16 KiB pages (the text repeated so it crosses page boundaries), read back as one string.
        var text = string.Concat(Enumerable.Repeat(json, json.Length == 0 ? 1 : (40_000 / json.Length) + 1));
        using var pages = new CloudWatchMessagePages(new CloudWatchPagePool(4));
        pages.WriteEscapedAsciiJson(System.Text.Encoding.ASCII.GetBytes(text));
        var stored = new byte[pages.WrittenCount + 2];
        stored[0] = (byte)'"';
        pages.CopyTo(0, stored.AsSpan(1, pages.WrittenCount));
        stored[^1] = (byte)'"';

        Assert.Equal(text, System.Text.Json.JsonSerializer.Deserialize<string>(stored));
    }

    /// <summary>
    /// Disk chunks whose memory the engine lets go while the output holds their records, requests throttled and
    /// not retried inside the output: the engine's retries send only what did not go through, so every record
    /// lands exactly once.
    /// </summary>
    [Fact]
    public async Task Disk_chunks_retried_by_the_engine_deliver_every_record_once()
    {
        using var dir = new TempDirectory();
        var section = Section("cloudwatch_logs", ("region", FakeCloudWatchLogsServer.Region), ("log_group_name", "g"), ("log_stream_prefix", "s-"), ("auto_create_group", "true"), ("auto_retry_requests", "false"));
        var output = Output(WithEndpoint(section, _fake.Endpoint), flushInterval: TimeSpan.FromMilliseconds(50));
        var options = new BufferOptions { StoragePath = dir.Storage, ChunkMemoryLimitBytes = 1, BacklogMemLimitBytes = 64 * 1024 };
        var engine = new AggregatorEngine(
            options,
            [new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(100, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50)))],
            null,
            NullLoggerFactory.Instance);
        await using var _ = engine;
        await TestEngines.StartAsync(engine);
        _fake.ThrottlePercent = 30;
        var now = NowMs - 60_000;
        const int Chunks = 60;
        for (var c = 0; c < Chunks; c++)
        {
            var events = Enumerable.Range(0, 200).Select(i => (now + (c * 200) + i, $"c{c}-{i}")).ToList();
            await engine.AppendAsync(Chunk(c % 3 == 0 ? "app.x" : "app.y", events), CancellationToken.None);
        }

        await Eventually.TrueAsync(() => engine.Outputs[0].FlushedChunks == Chunks, "every chunk flushed", TimeSpan.FromSeconds(90));

        Assert.True(engine.Outputs[0].Retries > 0, "no chunk was retried: the test did not test retries");
        var messages = _fake.Events("g", "s-app.x").Concat(_fake.Events("g", "s-app.y")).Select(e => e.Message).ToList();
        Assert.Equal(Chunks * 200, messages.Count);
        Assert.Equal(Chunks * 200, messages.Distinct().Count());
        Assert.Empty(_fake.Violations);
    }

    private static ConfigSection Basic() => Section(
        "cloudwatch_logs",
        ("region", FakeCloudWatchLogsServer.Region),
        ("log_group_name", "g"),
        ("log_stream_prefix", "s-"),
        ("auto_create_group", "true"));
}
