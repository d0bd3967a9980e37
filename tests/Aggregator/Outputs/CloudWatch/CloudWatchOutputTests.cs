using System.Text.Json;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using static Gateway.Aggregator.Tests.Outputs.CloudWatch.CloudWatchTestData;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

public sealed class CloudWatchOutputTests : IAsyncLifetime
{
    private readonly FakeCloudWatchLogsServer _fake = new();

    public Task InitializeAsync() => _fake.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    /// <summary>
    /// The container-insights seed as the aggregator reads it: <c>${HOST_NAME}</c> in the stream prefix names the
    /// node each chunk came from (the config reader keeps it in <c>NodeTemplate</c>), not the aggregator's own
    /// HOST_NAME, so each node's events land in <c>&lt;node&gt;-&lt;tag&gt;</c>.
    /// </summary>
    [Fact]
    public async Task Container_insights_seed_routes_to_eks_pipeline_group_and_node_tag_streams()
    {
        var environment = new Dictionary<string, string?>
        {
            ["AWS_REGION"] = FakeCloudWatchLogsServer.Region,
            ["CLUSTER_NAME"] = "prod",
            ["HOST_NAME"] = "aggregator-0",
            ["READ_FROM_HEAD"] = "Off",
            ["READ_FROM_TAIL"] = "On",
        };
        var doc = ClassicConfigReader.Load(Path.Combine(Fixtures, "seed-configs", "container-insights", "application-log.conf"), environment);
        var section = doc.OfKind(SectionKind.Output).FirstOrDefault(s => s.PluginName == "cloudwatch_logs");
        Assert.True(section is not null, $"no cloudwatch_logs output in {doc.MainFile}: {string.Join("; ", doc.Sections)} {string.Join("; ", doc.Diagnostics)}");
        await using var output = Output(WithEndpoint(section, _fake.Endpoint));
        var now = NowMs;

        var fromNodeA = Chunk("application.var.log.containers.web-1_default_web-abc.log", [(now, "a1"), (now + 1, "a2")], nodeName: "ip-10-0-1-5.ec2.internal");
        var fromNodeB = Chunk("application.var.log.containers.web-1_default_web-abc.log", [(now, "b1")], nodeName: "ip-10-0-2-7.ec2.internal");

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(fromNodeA, default));
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(fromNodeB, default));

        Assert.True(_fake.GroupExists("/eks/prod/pipeline"));
        var streamA = "ip-10-0-1-5.ec2.internal-application.var.log.containers.web-1_default_web-abc.log";
        var streamB = "ip-10-0-2-7.ec2.internal-application.var.log.containers.web-1_default_web-abc.log";
        Assert.Equal([streamA, streamB], _fake.StreamNames("/eks/prod/pipeline").Order(StringComparer.Ordinal));
        Assert.Equal(["""{"log":"a1"}""", """{"log":"a2"}"""], Messages("/eks/prod/pipeline", streamA));
        Assert.Equal(["""{"log":"b1"}"""], Messages("/eks/prod/pipeline", streamB));
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Per_app_routing_uses_tag_part_4_and_falls_back_to_the_default_stream_counted()
    {
        var section = Section(
            "cloudwatch",
            ("Match", "fluentbit.*"),
            ("region", FakeCloudWatchLogsServer.Region),
            ("log_group_name", "/eks/staging/ng1_fluentbit"),
            ("log_stream_name", "${HOST_NODE_NAME}_$(tag[4])"),
            ("auto_create_group", "true"),
            ("extra_user_agent", "container-insights"),
            ("Retry_Limit", "5"),
            ("Merge_Log_Key", "data"));
        await using var output = Output(WithEndpoint(section, _fake.Endpoint));
        var now = NowMs;

        var full = Chunk("fluentbit.var.log.containers.fluent-bit-x9_amazon-cloudwatch_fluent-bit-0a1b.log", [(now, "one")], nodeName: "node-7");
        var shortTag = Chunk("fluentbit.short", [(now, "two")], nodeName: "node-7");

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(full, default));
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(shortTag, default));

        Assert.EndsWith(" container-insights", _fake.LastUserAgent);
        Assert.Equal(["""{"log":"one"}"""], Messages("/eks/staging/ng1_fluentbit", "node-7_fluent-bit-x9_amazon-cloudwatch_fluent-bit-0a1b"));
        Assert.Equal(["""{"log":"two"}"""], Messages("/eks/staging/ng1_fluentbit", "/fluentbit-default"));
        Assert.Equal(1, output.Metrics.NameFallbackCount);
    }

    [Fact]
    public async Task Log_group_template_reads_the_record_and_falls_back_to_log_group_name()
    {
        var section = Section(
            "cloudwatch_logs",
            ("region", FakeCloudWatchLogsServer.Region),
            ("log_group_name", "fallback-group"),
            ("log_group_template", "/aws/eks/$kubernetes['namespace_name']"),
            ("log_stream_prefix", "from-"),
            ("auto_create_group", "on"),
            ("log_group_class", "INFREQUENT_ACCESS"),
            ("log_format", "json/emf"),
            ("log_retention_days", "14"));
        await using var output = Output(WithEndpoint(section, _fake.Endpoint));
        var now = NowMs;
        var withoutNamespace = Chunk("kube.a", [(now, "x")], extra: new Dictionary<string, string> { ["stream"] = "stdout" });

        // A record with kubernetes.namespace_name, built by hand (nested map).
        var nested = NestedChunk("kube.a", now, "payments");
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(nested, default));
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(withoutNamespace, default));

        Assert.Single(Messages("/aws/eks/payments", "from-kube.a"));
        Assert.Equal(["x"], Messages("fallback-group", "from-kube.a").Select(m => JsonDocument.Parse(m).RootElement.GetProperty("log").GetString()));
        Assert.Equal(14, _fake.Retention("/aws/eks/payments"));
        Assert.Equal("INFREQUENT_ACCESS", _fake.GroupClass("/aws/eks/payments"));
        Assert.Equal("json/emf", _fake.LastLogsFormat);
        Assert.Equal(1, output.Metrics.NameFallbackCount);
    }

    [Fact]
    public async Task A_stream_fed_more_than_10000_events_gets_full_10000_event_requests()
    {
        await using var output = Output(WithEndpoint(Basic(), _fake.Endpoint));
        var now = NowMs - 60_000;
        var events = Enumerable.Range(0, 25_000).Select(i => (now + (i / 10), $"e{i}")).ToList();

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app", events), default));

        var puts = _fake.PutCalls.Where(c => c.Outcome == "OK").ToList();
        Assert.Equal([10_000, 10_000, 5_000], puts.Select(p => p.EventCount));
        Assert.Equal(25_000, _fake.Events("g", "s-app").Count);
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Large_events_fill_requests_up_to_1_MiB_counting_26_bytes_each()
    {
        await using var output = Output(WithEndpoint(Section("cloudwatch_logs", ("region", FakeCloudWatchLogsServer.Region), ("log_group_name", "g"), ("log_stream_name", "big"), ("log_key", "log"), ("auto_create_group", "true")), _fake.Endpoint));
        var now = NowMs - 60_000;
        var message = new string('x', 3_000);
        var events = Enumerable.Range(0, 1_000).Select(i => (now + i, message)).ToList();

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app", events), default));

        var puts = _fake.PutCalls.Where(c => c.Outcome == "OK").ToList();
        Assert.All(puts, p => Assert.True(p.BatchBytes <= FakeCloudWatchLogsServer.MaxBatchBytes));
        Assert.Equal(1_048_576 / 3_026, puts[0].EventCount); // as many as fit
        Assert.Equal(1_000, puts.Sum(p => p.EventCount));
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Events_are_sorted_per_stream_and_batches_never_span_24_hours()
    {
        await using var output = Output(WithEndpoint(Basic(), _fake.Endpoint));
        var now = NowMs;
        var dayAgo = now - (long)TimeSpan.FromHours(25).TotalMilliseconds;
        List<(long, string)> events = [(now, "late"), (dayAgo, "early"), (now - 1000, "middle"), (now - 1000, "middle2")];

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app", events), default));

        Assert.Equal(["early", "middle", "middle2", "late"], Messages("g", "s-app").Select(m => JsonDocument.Parse(m).RootElement.GetProperty("log").GetString()));
        Assert.Equal(2, _fake.PutCalls.Count(c => c.Outcome == "OK"));
        Assert.Empty(_fake.Violations);
    }

    [Fact]
    public async Task Oversized_event_is_truncated_to_the_fluent_bit_limit()
    {
        await using var output = Output(WithEndpoint(Section("cloudwatch_logs", ("region", FakeCloudWatchLogsServer.Region), ("log_group_name", "g"), ("log_stream_name", "s"), ("log_key", "log"), ("auto_create_group", "true")), _fake.Endpoint));

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app", [(NowMs, new string('y', 300_000))]), default));

        Assert.Equal(262_118, Messages("g", "s").Single().Length);
        Assert.Equal(1, output.Metrics.TruncatedCount);
    }

    [Fact]
    public async Task Too_old_events_are_counted_rejected_and_not_retried()
    {
        await using var output = Output(WithEndpoint(Basic(), _fake.Endpoint));
        var old = NowMs - (long)TimeSpan.FromDays(20).TotalMilliseconds;

        var (result, tries) = await FlushUntilDoneAsync(output, Chunk("app", [(old, "ancient"), (old + 1, "ancient2")]));

        Assert.Equal(FlushResult.Ok, result);
        Assert.Equal(1, tries);
        Assert.Equal(2, output.Metrics.RejectedCount);
        Assert.Empty(_fake.Events("g", "s-app"));
    }

    [Fact]
    public async Task Access_denied_hands_the_chunk_back_without_a_tight_loop()
    {
        _fake.DenyAll = true;
        await using var output = Output(WithEndpoint(Basic(), _fake.Endpoint));

        var result = await output.FlushAsync(Chunk("app", [(NowMs, "x")]), default);

        Assert.Equal(FlushResult.Retry, result);
        Assert.True(_fake.TotalRequests <= 2, $"{_fake.TotalRequests} requests for one denied flush");
    }

    [Fact]
    public async Task Missing_group_without_auto_create_is_retry_with_the_group_named()
    {
        await using var output = Output(WithEndpoint(Section("cloudwatch_logs", ("region", FakeCloudWatchLogsServer.Region), ("log_group_name", "absent"), ("log_stream_prefix", "p-")), _fake.Endpoint));

        Assert.Equal(FlushResult.Retry, await output.FlushAsync(Chunk("app", [(NowMs, "x")]), default));
        Assert.False(_fake.GroupExists("absent"));
    }

    /// <summary>
    /// The issue's acceptance run: 1,000,000 records (4 streams × 100 rounds × 2,500) under 5% throttling, 2% 5xx
    /// and a stream deleted mid-run; the engine retries chunks it gets back. Every record arrives exactly once, in
    /// time order per stream, within the limits.
    /// </summary>
    [Fact]
    public async Task Throttling_5xx_and_a_deleted_stream_lose_nothing_and_duplicate_nothing()
    {
        _fake.ThrottlePercent = 5;
        _fake.ServerErrorPercent = 2;
        await using var output = Output(WithEndpoint(Basic(), _fake.Endpoint));
        var random = new Random(7);
        var start = NowMs - 3_600_000;
        string[] tags = ["app.a", "app.b", "app.c", "app.d"];
        var sent = tags.ToDictionary(t => t, _ => new List<string>());
        for (var round = 0; round < 100; round++)
        {
            if (round == 50)
            {
                Assert.True(_fake.DeleteStream("g", "s-app.b"));
            }

            var flushes = tags.Select(async tag =>
            {
                // Arrival order differs from time order inside a chunk; chunks are later round by round.
                var events = Enumerable.Range(0, 2_500)
                    .Select(i => (start + (round * 10_000L) + random.Next(0, 5_000), $"{tag}-{round}-{i}"))
                    .ToList();
                sent[tag].AddRange(events.Select(e => e.Item2));
                var (result, _) = await FlushUntilDoneAsync(output, Chunk(tag, events));
                Assert.Equal(FlushResult.Ok, result);
            }).ToList();
            await Task.WhenAll(flushes);
        }

        Assert.Empty(_fake.Violations);
        Assert.Equal(1_000_000, sent.Values.Sum(list => list.Count));
        foreach (var tag in tags)
        {
            var stored = _fake.Events("g", "s-" + tag);
            var messages = stored.Select(e => JsonDocument.Parse(e.Message).RootElement.GetProperty("log").GetString()!).ToList();
            Assert.Equal(sent[tag].Count, messages.Count);
            Assert.Equal(sent[tag].Order(StringComparer.Ordinal), messages.Order(StringComparer.Ordinal));
            for (var i = 1; i < stored.Count; i++)
            {
                Assert.True(stored[i - 1].Timestamp <= stored[i].Timestamp, $"{tag}: event {i} is earlier than event {i - 1}");
            }
        }

        Assert.Contains("s-app.b", _fake.StreamNames("g")); // recreated after the deletion
        Assert.Contains(_fake.PutCalls, c => c.Stream == "s-app.b" && c.Outcome == "ResourceNotFoundException");
        Assert.True(_fake.InjectedFaults >= 3, $"only {_fake.InjectedFaults} faults were injected");
    }

    [Fact]
    public async Task Without_in_flush_retries_the_engine_retry_sends_only_the_batches_not_yet_delivered()
    {
        var section = Section(
            "cloudwatch_logs",
            ("region", FakeCloudWatchLogsServer.Region),
            ("log_group_name", "g"),
            ("log_stream_name", "one"),
            ("auto_create_group", "true"),
            ("auto_retry_requests", "false"));
        await using var output = Output(WithEndpoint(section, _fake.Endpoint));
        var now = NowMs - 60_000;
        var chunk = Chunk("app", Enumerable.Range(0, 25_000).Select(i => (now + (i / 100), $"m{i}")).ToList());
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("warmup", [(now, "w")]), default)); // group and stream exist
        _fake.ThrottlePercent = 40;

        var (result, tries) = await FlushUntilDoneAsync(output, chunk, maxTries: 100);

        Assert.Equal(FlushResult.Ok, result);
        var messages = _fake.Events("g", "one").Select(e => JsonDocument.Parse(e.Message).RootElement.GetProperty("log").GetString()).ToList();
        Assert.Equal(25_001, messages.Count);
        Assert.Equal(25_001, messages.Distinct().Count());
        Assert.Equal(4, _fake.PutCalls.Count(c => c.Outcome == "OK")); // warmup + 3 batches, none twice
        Assert.True(tries > 1 || _fake.InjectedFaults == 0);
    }

    [Fact]
    public async Task Role_arn_with_external_id_assumes_the_role_at_sts_endpoint_and_signs_with_its_credentials()
    {
        var section = WithEndpoint(
            Section(
                "cloudwatch_logs",
                ("region", FakeCloudWatchLogsServer.Region),
                ("log_group_name", "g"),
                ("log_stream_name", "s"),
                ("auto_create_group", "true"),
                ("role_arn", "arn:aws:iam::123456789012:role/log-writer"),
                ("external_id", "ext-42"),
                ("sts_endpoint", _fake.Endpoint.ToString())),
            _fake.Endpoint);
        var context = new Gateway.Aggregator.Outputs.OutputContext { InstanceName = "cloudwatch_logs.0" };
        await using var output = Gateway.Aggregator.Outputs.CloudWatch.CloudWatchOutputFactory.Create(section, context, Credentials);

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app", [(NowMs, "as role")]), default));

        var call = Assert.Single(_fake.AssumeRoleCalls);
        Assert.Equal("arn:aws:iam::123456789012:role/log-writer", call.RoleArn);
        Assert.Equal("ext-42", call.ExternalId);
        Assert.All(_fake.CallerKeys, key => Assert.StartsWith("ASIAFAKE", key));
        Assert.Single(Messages("g", "s"));
    }

    private static Gateway.Engine.Config.ConfigSection Basic() => Section(
        "cloudwatch_logs",
        ("region", FakeCloudWatchLogsServer.Region),
        ("log_group_name", "g"),
        ("log_stream_prefix", "s-"),
        ("auto_create_group", "true"));

    private List<string> Messages(string group, string stream) => _fake.Events(group, stream).Select(e => e.Message).ToList();

    private static Gateway.Engine.Records.EventChunk NestedChunk(string tag, long ts, string ns)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePack.MessagePackWriter(buffer);
        var record = new System.Buffers.ArrayBufferWriter<byte>();
        var r = new MessagePack.MessagePackWriter(record);
        r.WriteMapHeader(2);
        r.Write("log");
        r.Write("nested");
        r.Write("kubernetes");
        r.WriteMapHeader(1);
        r.Write("namespace_name");
        r.Write(ns);
        r.Flush();
        Gateway.Engine.Records.EventWriter.WriteEvent(ref writer, Gateway.Engine.Records.EventTime.FromUnixNanoseconds(ts * 1_000_000), record.WrittenSpan);
        writer.Flush();
        return new Gateway.Engine.Records.EventChunk(tag, buffer.WrittenSpan.ToArray(), 1);
    }
}
