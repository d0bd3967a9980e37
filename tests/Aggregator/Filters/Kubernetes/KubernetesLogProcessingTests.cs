using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>Merge_Log / Keep_Log / Merge_Log_Trim / Merge_Parser and the fluentbit.io/parser* and exclude*
/// annotations, as kubernetes.c and kube_property.c apply them.</summary>
public sealed class KubernetesLogProcessingTests
{
    private const string Prefix = "kube.var.log.containers.";
    private static readonly string AppId = KubernetesFilterHarness.ContainerId(42);
    private static readonly string Tag = Prefix + "web-1_shop_app-" + AppId + ".log";

    private const string KvParser = """
        [PARSER]
            Name   kv
            Format logfmt
        """;

    [Fact]
    public async Task Exclude_annotation_drops_the_pods_records_only_when_K8S_Logging_Exclude_is_on()
    {
        var annotations = new Dictionary<string, string> { ["fluentbit.io/exclude"] = "true" };
        await using (var on = await StartAsync("K8S-Logging.Exclude On", annotations))
        {
            Assert.Empty(on.Run(Tag, KubernetesFilterHarness.Events(("a", "stdout"), ("b", "stderr")), 2)!);
        }

        await using var off = await StartAsync(string.Empty, annotations);
        Assert.Equal(2, off.Run(Tag, KubernetesFilterHarness.Events(("a", "stdout"), ("b", "stderr")), 2)!.Count);
    }

    [Fact]
    public async Task Stream_and_container_specific_excludes_apply_to_their_stream_and_container()
    {
        var annotations = new Dictionary<string, string>
        {
            ["fluentbit.io/exclude_stderr"] = "true",
            ["fluentbit.io/exclude_stdout-sidecar"] = "true", // another container of the pod
        };
        await using var h = await StartAsync("K8S-Logging.Exclude On", annotations);

        var lines = h.Run(Tag, KubernetesFilterHarness.Events(("out", "stdout"), ("err", "stderr")), 2)!;

        var line = Assert.Single(lines);
        Assert.Contains("\"log\":\"out\"", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_container_specific_parser_wins_over_the_pod_parser_and_each_stream_uses_its_own()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var annotations = new Dictionary<string, string>
        {
            ["fluentbit.io/parser"] = "kv",
            ["fluentbit.io/parser_stdout-app"] = "nginx",
            ["fluentbit.io/parser-sidecar"] = "nginx",
        };
        await using var h = await StartAsync("Merge_Log On\nK8S-Logging.Parser On", annotations, KvParser + "\n" + KubernetesFilterFixtureTests.NginxParser, clock);

        var lines = h.Run(
            Tag,
            KubernetesFilterHarness.Events(
                ("10.0.0.1 - bob [25/Nov/2026:10:00:00 +0000] \"GET /a HTTP/1.1\" 404 0 \"-\" \"curl\"", "stdout"),
                ("level=warn msg=slow", "stderr")),
            2)!;

        // stdout: nginx (its time becomes the event time); stderr: the pod-wide kv parser, which has no time, so
        // the event is stamped with the current time as Fluent Bit does.
        Assert.StartsWith("1795600800.000000000 {\"log\":", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"stream\":\"stdout\",\"remote\":\"10.0.0.1\",\"host\":\"-\",\"user\":\"bob\",\"method\":\"GET\",\"path\":\"/a\",\"code\":\"404\",\"size\":\"0\",\"referer\":\"-\",\"agent\":\"curl\",\"kubernetes\":", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("1795608000.000000000 {\"log\":\"level=warn msg=slow\",\"stream\":\"stderr\",\"level\":\"warn\",\"msg\":\"slow\",\"kubernetes\":", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Annotation_parsers_are_ignored_without_K8S_Logging_Parser_and_json_merge_applies()
    {
        var annotations = new Dictionary<string, string> { ["fluentbit.io/parser"] = "kv" };
        await using var h = await StartAsync("Merge_Log On", annotations, KvParser);

        var line = Assert.Single(h.Run(Tag, KubernetesFilterHarness.Events(("{\"a\":1}", "stdout"), ("a=1", "stdout")), 2)!.Take(1));

        Assert.StartsWith("1700000000.000000000 {\"log\":\"{\\\"a\\\":1}\",\"stream\":\"stdout\",\"a\":1,\"kubernetes\":", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merge_Log_Trim_drops_trailing_newlines_and_escaped_newlines_of_merged_strings()
    {
        await using (var trim = await StartAsync("Merge_Log On\nKeep_Log Off"))
        {
            var line = Assert.Single(trim.Run(Tag, KubernetesFilterHarness.Events(("{\"msg\":\"hello\\n\",\"raw\":\"x\\\\n\",\"n\":1}\n", "stdout")), 1)!);
            Assert.StartsWith("1700000000.000000000 {\"stream\":\"stdout\",\"msg\":\"hello\",\"raw\":\"x\",\"n\":1,\"kubernetes\":", line, StringComparison.Ordinal);
        }

        await using var keep = await StartAsync("Merge_Log On\nKeep_Log Off\nMerge_Log_Trim Off");
        var untrimmed = Assert.Single(keep.Run(Tag, KubernetesFilterHarness.Events(("{\"msg\":\"hello\\n\"}", "stdout")), 1)!);
        Assert.StartsWith("1700000000.000000000 {\"stream\":\"stdout\",\"msg\":\"hello\\n\",\"kubernetes\":", untrimmed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_that_is_not_a_json_object_is_kept_even_with_Keep_Log_Off()
    {
        await using var h = await StartAsync("Merge_Log On\nKeep_Log Off\nMerge_Log_Key data");

        var lines = h.Run(Tag, KubernetesFilterHarness.Events(("[1,2]", "stdout"), ("not json", "stdout"), ("{}", "stdout")), 3)!;

        Assert.StartsWith("1700000000.000000000 {\"log\":\"[1,2]\",\"stream\":\"stdout\",\"kubernetes\":", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("1700000000.000000000 {\"log\":\"not json\",\"stream\":\"stdout\",\"kubernetes\":", lines[1], StringComparison.Ordinal);

        // An empty object merges (so "log" goes) but adds no Merge_Log_Key map, as Fluent Bit.
        Assert.StartsWith("1700000000.000000000 {\"stream\":\"stdout\",\"kubernetes\":", lines[2], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_log_that_is_neither_a_string_nor_a_map_is_dropped_with_Keep_Log_Off_as_pack_map_content_does()
    {
        // {"log":5,"stream":"stdout"} and {"log":null,...}: merge_log_handler is never called (merge status -1), and
        // with Keep_Log Off only MERGE_NONE keeps the key. With Keep_Log On the original value stays.
        var events = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new MessagePack.MessagePackWriter(events);
        foreach (var value in new byte[][] { [0x05], [0xc0] })
        {
            writer.WriteArrayHeader(2);
            Gateway.Engine.Records.EventWriter.WriteTime(ref writer, new Gateway.Engine.Records.EventTime(1_700_000_000, 0));
            writer.WriteMapHeader(2);
            writer.Write("log");
            writer.WriteRaw(value);
            writer.Write("stream");
            writer.Write("stdout");
        }

        writer.Flush();
        var bytes = events.WrittenSpan.ToArray();

        await using (var off = await StartAsync("Merge_Log On\nKeep_Log Off"))
        {
            var lines = off.Run(Tag, bytes, 2)!;
            Assert.All(lines, l => Assert.StartsWith("1700000000.000000000 {\"stream\":\"stdout\",\"kubernetes\":", l, StringComparison.Ordinal));
        }

        await using var on = await StartAsync("Merge_Log On");
        var kept = on.Run(Tag, bytes, 2)!;
        Assert.StartsWith("1700000000.000000000 {\"log\":5,\"stream\":\"stdout\",\"kubernetes\":", kept[0], StringComparison.Ordinal);
        Assert.StartsWith("1700000000.000000000 {\"log\":null,\"stream\":\"stdout\",\"kubernetes\":", kept[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Merge_Parser_parses_the_log_when_no_annotation_suggests_one()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var h = await StartAsync("Merge_Log On\nMerge_Parser kv", null, KvParser, clock);

        var line = Assert.Single(h.Run(Tag, KubernetesFilterHarness.Events(("a=1 b=two", "stdout")), 1)!);

        Assert.StartsWith("1795608000.000000000 {\"log\":\"a=1 b=two\",\"stream\":\"stdout\",\"a\":\"1\",\"b\":\"two\",\"kubernetes\":", line, StringComparison.Ordinal);
    }

    private static Task<KubernetesFilterHarness> StartAsync(string options, IDictionary<string, string>? annotations = null, string parsers = "", TimeProvider? clock = null) =>
        KubernetesFilterHarness.StartAsync(
            options,
            s => s.PutPod(KubernetesFilterHarness.Pod("shop", "web-1", "node-a", "uid-w", "app", AppId, annotations)),
            parsers,
            clock);
}
