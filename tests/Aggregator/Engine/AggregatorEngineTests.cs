using System.Buffers;
using System.Text.Json;
using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Engine;

public sealed class AggregatorEngineTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(2000);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Appended_chunks_reach_the_output_with_tag_node_and_bytes_intact(bool filesystem)
    {
        using var dir = new TempDirectory();
        var output = new RecordingOutput("stdout.0");
        var options = new BufferOptions { StoragePath = filesystem ? dir.Storage : null, Checksum = true };
        await using var engine = await TestEngines.StartAsync(TestEngines.Create(options, output));

        var sent = TestChunks.Make("kube.var.log.app", "c1", events: 5, node: "node-a");
        await engine.AppendAsync(sent, CancellationToken.None);

        await Eventually.TrueAsync(() => output.Delivered.Count == 1, "the chunk is delivered");
        var got = Assert.Single(output.Delivered);
        Assert.Equal("kube.var.log.app", got.Tag);
        Assert.Equal("node-a", got.NodeName);
        Assert.Equal(5, got.EventCount);
        Assert.Equal(sent.Events.ToArray(), got.Events);
        Assert.Equal(1, engine.Metrics.ChunksAppended);
        Assert.Equal(5, engine.Metrics.RecordsAppended);
        Assert.Equal(sent.ByteLength, engine.Metrics.BytesAppended);
        await Eventually.TrueAsync(() => engine.Outputs[0].FlushedRecords == 5, "flushed counter");
    }

    [Fact]
    public async Task Each_output_gets_the_tags_its_Match_selects_and_progresses_on_its_own()
    {
        using var dir = new TempDirectory();
        var kube = new RecordingOutput("kube.0");
        var all = new RecordingOutput("all.0");
        var regex = new RecordingOutput("regex.0");
        var failing = new RecordingOutput("failing.0", (_, _, _) => ValueTask.FromResult(FlushResult.Error));
        var options = new BufferOptions { StoragePath = dir.Storage, KeepRejected = true };
        var engine = TestEngines.Create(
            options,
            null,
            new OutputRegistration(kube, new TagMatcher("kube.*", null), new RetryPolicy(1, Base, Cap)),
            new OutputRegistration(all, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap)),
            new OutputRegistration(regex, new TagMatcher(null, @"host\.(syslog|dmesg)"), new RetryPolicy(1, Base, Cap)),
            new OutputRegistration(failing, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap)));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        await engine.AppendAsync(TestChunks.Make("kube.a", "k1"), CancellationToken.None);
        await engine.AppendAsync(TestChunks.Make("host.syslog", "h1"), CancellationToken.None);
        await engine.AppendAsync(TestChunks.Make("host.other", "h2"), CancellationToken.None);

        await Eventually.TrueAsync(() => all.Delivered.Count == 3 && kube.Delivered.Count == 1 && regex.Delivered.Count == 1, "routing");
        Assert.Equal(["k1"], kube.DeliveredKeys);
        Assert.Equal(["h1"], regex.DeliveredKeys);
        Assert.Equal(["h1", "h2", "k1"], all.DeliveredKeys.Order(StringComparer.Ordinal));
        await Eventually.TrueAsync(() => engine.Outputs[3].DeadLetteredChunks == 3, "the failing output rejected everything without holding the others");
    }

    [Fact]
    public async Task Tags_no_output_matches_are_counted_as_unrouted()
    {
        var output = new RecordingOutput("only.kube");
        var engine = TestEngines.Create(new BufferOptions(), null, new OutputRegistration(output, new TagMatcher("kube.*", null), new RetryPolicy(1, Base, Cap)));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        await engine.AppendAsync(TestChunks.Make("host.x", "h", events: 4), CancellationToken.None);

        Assert.Equal(1, engine.Metrics.UnroutedChunks);
        Assert.Equal(4, engine.Metrics.UnroutedRecords);
        Assert.Equal(0, engine.Metrics.ChunksAppended);
    }

    [Fact]
    public async Task A_retry_is_flushed_again_after_the_backoff_and_then_succeeds()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var output = new RecordingOutput("http.0", (_, attempt, _) => ValueTask.FromResult(attempt < 3 ? FlushResult.Retry : FlushResult.Ok));
        var engine = TestEngines.Create(new BufferOptions(), time, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(5, Base, Cap)));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        await engine.AppendAsync(TestChunks.Make("app", "r1"), CancellationToken.None);

        await Eventually.TrueAsync(() => output.AttemptCount == 1, "first attempt");
        Assert.Empty(output.Delivered);

        // Time only moves when the test says so: no real sleeping through a backoff.
        await Eventually.TrueAsync(() => output.Delivered.Count == 1, "delivered after two retries", eachPoll: () => time.Advance(Cap));
        Assert.Equal(3, output.AttemptCount);
        Assert.Equal(2, engine.Outputs[0].Retries);
        Assert.Equal(0, engine.Outputs[0].DeadLetteredChunks);
    }

    [Fact]
    public async Task A_chunk_waiting_for_its_retry_does_not_hold_up_the_output()
    {
        var time = new FakeTimeProvider();
        var seen = new HashSet<string>();
        var output = new RecordingOutput("one-worker", (chunk, _, _) =>
        {
            var first = seen.Add(chunk.Tag) && chunk.Tag == "bad";
            return ValueTask.FromResult(first ? FlushResult.Retry : FlushResult.Ok);
        });
        var engine = TestEngines.Create(new BufferOptions(), time, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(3, Base, Cap), workers: 1));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        await engine.AppendAsync(TestChunks.Make("bad", "b"), CancellationToken.None);
        await engine.AppendAsync(TestChunks.Make("good", "g1"), CancellationToken.None);
        await engine.AppendAsync(TestChunks.Make("good", "g2"), CancellationToken.None);

        // No time passes, yet the chunks behind the retrying one are delivered.
        await Eventually.TrueAsync(() => output.Delivered.Count == 2, "later chunks delivered during the backoff");
        Assert.Equal(["g1", "g2"], output.DeliveredKeys);
        Assert.Equal(1, engine.Outputs[0].QueueDepth); // the one waiting out its backoff

        await Eventually.TrueAsync(() => output.Delivered.Count == 3, "retried after the backoff", eachPoll: () => time.Advance(Cap));
        Assert.Equal("b", output.DeliveredKeys[2]);
        Assert.Equal(1, engine.Outputs[0].Retries);
    }

    [Fact]
    public async Task Exhausted_retries_put_the_chunk_in_the_dead_letter_directory_with_a_sidecar()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-03-04T05:06:07Z"));
        var output = new RecordingOutput("es.1", (_, _, _) => ValueTask.FromResult(FlushResult.Retry));
        var options = new BufferOptions { StoragePath = dir.Storage, KeepRejected = true };
        var engine = TestEngines.Create(options, time, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(2, Base, Cap)));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);
        var sent = TestChunks.Make("app.x", "dl1", events: 7, node: "n1");

        await engine.AppendAsync(sent, CancellationToken.None);

        await Eventually.TrueAsync(() => engine.Outputs[0].DeadLetteredChunks == 1, "dead-lettered", eachPoll: () => time.Advance(Cap));
        Assert.Equal(3, output.AttemptCount); // first try + Retry_Limit 2
        Assert.Equal(2, engine.Outputs[0].Retries);
        Assert.Equal(7, engine.Outputs[0].DeadLetteredRecords);
        Assert.Equal(0, engine.Outputs[0].DroppedRecords);

        var rejectedDir = Path.Combine(dir.Storage, "rejected", "es.1");
        var data = Assert.Single(Directory.GetFiles(rejectedDir, "*.msgpack"));
        Assert.Equal(sent.Events.ToArray(), File.ReadAllBytes(data));
        using var sidecar = JsonDocument.Parse(File.ReadAllBytes(Path.ChangeExtension(data, ".json")));
        Assert.Equal("es.1", sidecar.RootElement.GetProperty("output").GetString());
        Assert.Equal("app.x", sidecar.RootElement.GetProperty("tag").GetString());
        Assert.Equal("n1", sidecar.RootElement.GetProperty("node").GetString());
        Assert.Equal(7, sidecar.RootElement.GetProperty("events").GetInt32());
        Assert.Contains("retries exhausted", sidecar.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.StartsWith("2026-03-04T", sidecar.RootElement.GetProperty("time").GetString(), StringComparison.Ordinal);

        // Dead-lettered counts as done for that output: the buffer lets go of the chunk's memory.
        await Eventually.TrueAsync(() => engine.MemoryBytes == 0, "chunk memory released");
    }

    [Fact]
    public async Task Error_goes_straight_to_the_dead_letter_path_configured_by_storage_rejected_path()
    {
        using var dir = new TempDirectory();
        var rejected = Path.Combine(dir.Path, "dlq");
        var output = new RecordingOutput("s3.0", (_, _, _) => ValueTask.FromResult(FlushResult.Error));
        var options = new BufferOptions { KeepRejected = true, RejectedPath = rejected }; // memory-only buffer
        var engine = TestEngines.Create(options, null, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(null, Base, Cap)));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        await engine.AppendAsync(TestChunks.Make("a", "e1", events: 2), CancellationToken.None);

        await Eventually.TrueAsync(() => engine.Outputs[0].DeadLetteredChunks == 1, "dead-lettered");
        Assert.Equal(1, output.AttemptCount); // Error is never retried, even with unlimited retries
        var data = Assert.Single(Directory.GetFiles(Path.Combine(rejected, "s3.0"), "*.msgpack"));
        Assert.Equal(["e1/0", "e1/1"], TestChunks.Ids(File.ReadAllBytes(data)));
        Assert.Contains("returned Error", File.ReadAllText(Path.ChangeExtension(data, ".json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_any_dead_letter_place_a_rejected_chunk_is_counted_as_dropped()
    {
        var output = new RecordingOutput("null.0", (_, _, _) => ValueTask.FromResult(FlushResult.Retry));
        var options = BufferOptions.FromService(null); // no storage.path, nothing configured
        var engine = TestEngines.Create(options, null, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(0, Base, Cap)));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        await engine.AppendAsync(TestChunks.Make("a", "d1", events: 3), CancellationToken.None);

        await Eventually.TrueAsync(() => engine.Outputs[0].DroppedRecords == 3, "dropped counter");
        Assert.Equal(1, output.AttemptCount); // no_retries
        Assert.Equal(0, engine.Outputs[0].DeadLetteredChunks);
    }

    [Fact]
    public async Task An_output_that_throws_is_retried_not_crashed()
    {
        var time = new FakeTimeProvider();
        var output = new RecordingOutput("flaky.0", (_, attempt, _) => attempt == 1 ? throw new InvalidOperationException("boom") : ValueTask.FromResult(FlushResult.Ok));
        var engine = TestEngines.Create(new BufferOptions(), time, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap)));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        await engine.AppendAsync(TestChunks.Make("a", "t1"), CancellationToken.None);

        await Eventually.TrueAsync(() => output.Delivered.Count == 1, "delivered on the retry", eachPoll: () => time.Advance(Cap));
        Assert.Equal(1, engine.Outputs[0].Retries);
    }

    [Fact]
    public async Task Filters_run_in_order_on_matching_tags_and_untouched_chunks_keep_their_bytes()
    {
        var output = new RecordingOutput("out.0");
        var keepFirst = new KeepFirstEventFilter();
        var observer = new ObservingFilter();
        var filters = new FilterChain(
            [(new TagMatcher("trim.*", null), keepFirst), (new TagMatcher("*", null), observer)],
            NullLogger.Instance);
        var engine = new AggregatorEngine(
            new BufferOptions(),
            [new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap))],
            filters,
            NullLoggerFactory.Instance);
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        var untouched = TestChunks.Make("plain", "p1", events: 3);
        observer.Expected = untouched.Events;
        await engine.AppendAsync(untouched, CancellationToken.None);
        await engine.AppendAsync(TestChunks.Make("trim.me", "t1", events: 3), CancellationToken.None);

        await Eventually.TrueAsync(() => output.Delivered.Count == 2, "both delivered");
        var delivered = output.Delivered.ToDictionary(c => c.Tag);
        Assert.Equal(["p1/0", "p1/1", "p1/2"], delivered["plain"].Ids);
        Assert.Equal(["t1/0"], delivered["trim.me"].Ids);
        Assert.Equal(1, delivered["trim.me"].EventCount);

        // The second filter saw the first one's output, and the untouched chunk's original memory (no copy).
        Assert.Equal(1, observer.Seen["trim.me"]);
        Assert.True(observer.SawOriginalMemory);
        Assert.Equal(4, engine.Metrics.RecordsAppended);
    }

    [Fact]
    public async Task FromConfig_builds_outputs_routes_retry_and_workers_from_the_document()
    {
        using var dir = new TempDirectory();
        var doc = Doc(
            Section(SectionKind.Service, ("storage.path", dir.Storage), ("storage.sync", "full"), ("storage.checksum", "on"), ("Grace", "2")),
            Section(SectionKind.Output, ("Name", "rec"), ("Match", "kube.*"), ("Retry_Limit", "no_retries"), ("Workers", "2")),
            Section(SectionKind.Output, ("Name", "rec"), ("Alias", "second"), ("Match_Regex", "^host")));
        var made = new List<RecordingOutput>();
        var engine = AggregatorEngine.FromConfig(doc, s =>
        {
            var o = new RecordingOutput(s.Get("Alias") ?? s.PluginName + "." + made.Count);
            made.Add(o);
            return o;
        }, NullLoggerFactory.Instance);
        await using (engine)
        {
            await TestEngines.StartAsync(engine);
            Assert.Equal(StorageSync.Full, engine.Options.Sync);
            Assert.Equal(TimeSpan.FromSeconds(2), engine.Options.Grace);

            await engine.AppendAsync(TestChunks.Make("kube.x", "k"), CancellationToken.None);
            await engine.AppendAsync(TestChunks.Make("host.y", "h"), CancellationToken.None);

            await Eventually.TrueAsync(() => made[0].Delivered.Count == 1 && made[1].Delivered.Count == 1, "each output gets its tag");
            Assert.Equal(["k"], made[0].DeliveredKeys);
            Assert.Equal(["h"], made[1].DeliveredKeys);
        }

        Assert.All(made, o => Assert.True(o.Disposed));
    }

    [Fact]
    public async Task An_input_with_storage_type_memory_bypasses_the_disk_and_honours_its_Mem_Buf_Limit()
    {
        using var dir = new TempDirectory();
        var output = new RecordingOutput("out");
        await using var engine = await TestEngines.StartAsync(TestEngines.Create(new BufferOptions { StoragePath = dir.Storage }, output));
        var input = new ConfigSection(SectionKind.Input, "INPUT", new("in.conf", 1), [
            new("Name", "forward", new("in.conf", 2)),
            new("storage.type", "memory", new("in.conf", 3)),
            new("Mem_Buf_Limit", "1M", new("in.conf", 4)),
        ]);
        var sink = engine.CreateInputSink(input);

        await sink.AppendAsync(TestChunks.Make("mem", "m1"), CancellationToken.None);
        await Eventually.TrueAsync(() => output.Delivered.Count == 1, "memory chunk delivered");
        Assert.Empty(Directory.GetFiles(dir.Storage, "*.log")); // nothing reached the disk
        Assert.Equal(0, engine.DiskBytes);
        Assert.Equal(1_000_000, Assert.Single(engine.InputBudgets).LimitBytes);
        Assert.True(Assert.Single(engine.InputBudgets).PeakBytes > 0);

        await engine.AppendAsync(TestChunks.Make("disk", "d1"), CancellationToken.None); // default: filesystem
        await Eventually.TrueAsync(() => output.Delivered.Count == 2, "filesystem chunk delivered");
        Assert.Single(Directory.GetFiles(dir.Storage, "*.log"));
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(2, false)]
    public async Task FromConfig_routes_everything_to_an_output_without_Match_only_in_the_one_input_one_output_case(int inputs, bool receives)
    {
        var sections = new List<ConfigSection>();
        for (var i = 0; i < inputs; i++)
        {
            sections.Add(Section(SectionKind.Input, ("Name", "forward")));
        }

        sections.Add(Section(SectionKind.Output, ("Name", "rec")));
        var output = new RecordingOutput("rec.0");
        await using var engine = await TestEngines.StartAsync(AggregatorEngine.FromConfig(Doc([.. sections]), _ => output, NullLoggerFactory.Instance));

        await engine.AppendAsync(TestChunks.Make("any.tag", "a"), CancellationToken.None);

        if (receives)
        {
            await Eventually.TrueAsync(() => output.Delivered.Count == 1, "delivered");
        }
        else
        {
            Assert.Equal(1, engine.Metrics.UnroutedChunks);
        }
    }

    [Fact]
    public void FromConfig_reports_a_bad_value_with_file_and_line()
    {
        var doc = Doc(Section(SectionKind.Output, ("Name", "rec"), ("Match", "*"), ("Retry_Limit", "sometimes")));
        var ex = Assert.Throws<ConfigException>(() => AggregatorEngine.FromConfig(doc, s => new RecordingOutput("x"), NullLoggerFactory.Instance));
        Assert.Equal(new ConfigLocation("test.conf", 3), ex.Location);
        Assert.Contains("Retry_Limit 'sometimes'", ex.Message, StringComparison.Ordinal);
        Assert.StartsWith("test.conf:3:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shutdown_delivers_what_is_in_flight_within_grace_and_then_refuses_appends()
    {
        var gate = new TaskCompletionSource();
        var output = new RecordingOutput("slow.0", async (_, _, ct) =>
        {
            await gate.Task.WaitAsync(ct);
            return FlushResult.Ok;
        });
        var engine = TestEngines.Create(new BufferOptions { Grace = TimeSpan.FromSeconds(30) }, output);
        await using var _ = engine;
        await TestEngines.StartAsync(engine);
        for (var i = 0; i < 5; i++)
        {
            await engine.AppendAsync(TestChunks.Make("a", $"s{i}"), CancellationToken.None);
        }

        var stopping = engine.StopAsync(CancellationToken.None);
        gate.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(5, output.Delivered.Count);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await engine.AppendAsync(TestChunks.Make("a", "late"), CancellationToken.None));
    }

    internal static ConfigDocument Doc(params ConfigSection[] sections) => new("test.conf", sections, []);

    /// <summary>A section whose entries sit on lines 1, 2, 3... of <c>test.conf</c>.</summary>
    internal static ConfigSection Section(SectionKind kind, params (string Key, string Value)[] entries)
    {
        var list = entries.Select((e, i) => new ConfigEntry(e.Key, e.Value, new ConfigLocation("test.conf", i + 1))).ToList();
        return new ConfigSection(kind, kind.ToString().ToUpperInvariant(), new ConfigLocation("test.conf", 0), list);
    }

    /// <summary>Keeps only each chunk's first event (a real rewrite through the output writer).</summary>
    private sealed class KeepFirstEventFilter : IFilter
    {
        public string Name => "keep_first";

        public FilterOutcome Filter(EventChunk chunk, IBufferWriter<byte> output, out int outputEventCount)
        {
            var reader = new EventReader(chunk.Events);
            reader.TryRead(out var first);
            output.Write(first.Raw.Span);
            outputEventCount = 1;
            return FilterOutcome.Modified;
        }
    }

    private sealed class ObservingFilter : IFilter
    {
        public Dictionary<string, int> Seen { get; } = [];

        public bool SawOriginalMemory { get; private set; }

        public ReadOnlyMemory<byte> Expected { get; set; }

        public string Name => "observe";

        public FilterOutcome Filter(EventChunk chunk, IBufferWriter<byte> output, out int outputEventCount)
        {
            Seen[chunk.Tag] = chunk.EventCount;
            if (chunk.Tag == "plain")
            {
                SawOriginalMemory = chunk.Events.Equals(Expected); // same array, offset and length
            }

            outputEventCount = chunk.EventCount;
            return FilterOutcome.NotTouched;
        }
    }
}
