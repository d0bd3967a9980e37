using System.Buffers;
using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using Gateway.Tests.Shared;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters;

/// <summary>The [FILTER] chains of the seed configs, on records shaped as the kubernetes filter leaves them.</summary>
public sealed class SeedChainTests
{
    private const string KubernetesMeta =
        "{\"pod_name\":\"web-7d4b9c-x2x\",\"namespace_name\":\"prod\",\"pod_id\":\"0f0e-11aa\"," +
        "\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c\"},\"annotations\":{\"fluentbit/enabled\":\"true\"}," +
        "\"host\":\"ip-10-0-1-23.ec2.internal\",\"container_name\":\"web\",\"docker_id\":\"4f1c2d\"," +
        "\"container_hash\":\"sha256:abc\",\"container_image\":\"nginx:1.25\"}";

    private const string EnrichedRecord =
        "{\"log\":\"{\\\"level\\\":\\\"info\\\",\\\"msg\\\":\\\"hello\\\"}\\n\",\"stream\":\"stdout\",\"_p\":\"F\"," +
        "\"time\":\"2026-11-25T16:00:00.123456789Z\",\"level\":\"info\",\"msg\":\"hello\",\"kubernetes\":" + KubernetesMeta + "}";

    private static IFilter[] ContainerInsightsChain() =>
    [
        Filter(("Name", "grep"), ("Match", "application.*"), ("Regex", "$kubernetes['annotations']['fluentbit/enabled'] true")),
        Filter(("Name", "grep"), ("Match", "application.*"), ("Regex", "level .")),
        Filter(("Name", "nest"), ("Match", "*"), ("Operation", "lift"), ("Nested_under", "kubernetes"), ("Add_prefix", "k8s_")),
        Filter(("Name", "record_modifier"), ("Match", "*"),
            ("Remove_key", "stream"), ("Remove_key", "_p"), ("Remove_key", "log"), ("Remove_key", "k8s_namespace_name"),
            ("Remove_key", "k8s_pod_ip"), ("Remove_key", "k8s_pod_name"), ("Remove_key", "k8s_container_hash"),
            ("Remove_key", "k8s_docker_id"), ("Remove_key", "k8s_container_image"), ("Remove_key", "k8s_container_name"),
            ("Remove_key", "k8s_annotations"), ("Remove_key", "kubernetes")),
        Filter(("Name", "nest"), ("Match", "*"), ("Operation", "nest"), ("Wildcard", "k8s_*"), ("Nest_under", "kubernetes"), ("Remove_prefix", "k8s_")),
    ];

    [Fact]
    public void Container_insights_application_chain()
    {
        var disabled = EnrichedRecord.Replace("\"fluentbit/enabled\":\"true\"", "\"fluentbit/enabled\":\"false\"", StringComparison.Ordinal);
        var noLevel = EnrichedRecord.Replace("\"level\":\"info\",\"msg\"", "\"msg\"", StringComparison.Ordinal);
        var result = Run(Chunk(EnrichedRecord, disabled, noLevel), ContainerInsightsChain());
        AssertRecords(result,
            "{\"time\":\"2026-11-25T16:00:00.123456789Z\",\"level\":\"info\",\"msg\":\"hello\"," +
            "\"kubernetes\":{\"pod_id\":\"0f0e-11aa\",\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c\"},\"host\":\"ip-10-0-1-23.ec2.internal\"}}");
    }

    [Fact]
    public void Firehose_lift_chain_turns_the_decoded_log_map_into_the_record()
    {
        IFilter[] chain =
        [
            Filter(("Name", "record_modifier"), ("Match", "kube.*"), ("Whitelist_key", "log")),
            Filter(("Name", "nest"), ("Match", "kube.*"), ("Operation", "lift"), ("Nested_under", "log")),
        ];
        var chunk = Chunk(
            "{\"log\":{\"name\":\"fakenerd\",\"time_ms\":1577521193704},\"stream\":\"stdout\",\"time\":\"2019-12-28T08:19:53.704Z\"}",
            "{\"stream\":\"stderr\",\"log\":\"not json\"}",
            "{\"stream\":\"stdout\"}");
        AssertRecords(Run(chunk, chain), "{\"name\":\"fakenerd\",\"time_ms\":1577521193704}", "{\"log\":\"not json\"}");
    }

    [Fact]
    public void Per_app_routing_nest_and_modify_chain()
    {
        IFilter[] chain =
        [
            Filter(("Name", "nest"), ("Match", "*"), ("Operation", "lift"), ("Nested_under", "kubernetes"), ("Add_prefix", "Nested.")),
            Filter(("Name", "modify"), ("Match", "*"), ("Rename", "Nested.docker_id            Docker.container_id")),
            Filter(("Name", "nest"), ("Match", "*"), ("Operation", "nest"), ("Wildcard", "Nested.*"), ("Nested_under", "kubernetes"), ("Remove_prefix", "Nested.")),
            Filter(("Name", "nest"), ("Match", "*"), ("Operation", "nest"), ("Wildcard", "Docker.*"), ("Nested_under", "docker"), ("Remove_prefix", "Docker.")),
            Filter(("Name", "nest"), ("Match", "*"), ("Operation", "lift"), ("Nested_under", "kubernetes"), ("Add_prefix", "Kube.")),
            Filter(("Name", "modify"), ("Match", "*"), ("Remove", "Kube.container_hash"), ("Remove", "Kube.container_image"), ("Remove", "Kube.pod_id")),
            Filter(("Name", "nest"), ("Match", "*"), ("Operation", "nest"), ("Wildcard", "Kube.*"), ("Nested_under", "Kubernetes"), ("Remove_prefix", "Kube.")),
        ];
        var input = "{\"log\":\"{\\\"a\\\":1}\",\"stream\":\"stdout\",\"time\":\"2026-11-25T16:00:00Z\",\"log_processed\":{\"a\":1}," +
                    "\"kubernetes\":{\"pod_name\":\"sample-app-1\",\"namespace_name\":\"default\",\"pod_id\":\"p-1\",\"labels\":{\"app\":\"sample\"}," +
                    "\"host\":\"node-1\",\"container_name\":\"app\",\"docker_id\":\"d0c\",\"container_hash\":\"sha\",\"container_image\":\"img\"}}";
        AssertRecords(Run(TaggedChunk("sample-app.var.log.containers.sample-app-1_default_app-d0c.log", input), chain),
            "{\"log\":\"{\\\"a\\\":1}\",\"stream\":\"stdout\",\"time\":\"2026-11-25T16:00:00Z\",\"log_processed\":{\"a\":1}," +
            "\"docker\":{\"container_id\":\"d0c\"}," +
            "\"Kubernetes\":{\"pod_name\":\"sample-app-1\",\"namespace_name\":\"default\",\"labels\":{\"app\":\"sample\"},\"host\":\"node-1\",\"container_name\":\"app\"}}");
    }

    [Fact]
    public void Engine_filter_chain_runs_the_seed_filters_and_keeps_untouched_bytes()
    {
        var filters = new List<(TagMatcher?, IFilter)>();
        foreach (var filter in ContainerInsightsChain())
        {
            filters.Add((new TagMatcher("application.*", null), filter));
        }

        var chain = new FilterChain(filters, NullLogger.Instance);
        var untouched = TaggedChunk("host.messages", EnrichedRecord);
        Assert.Same(untouched, chain.Apply(untouched, out var none));
        Assert.Null(none);

        var chunk = TaggedChunk("application.var.log.containers.web", EnrichedRecord, "{\"level\":\"x\"}");
        var result = chain.Apply(chunk, out var owner);
        try
        {
            Assert.NotNull(owner);
            Assert.Equal(1, result.EventCount);
            Assert.Equal(
                "{\"time\":\"2026-11-25T16:00:00.123456789Z\",\"level\":\"info\",\"msg\":\"hello\",\"kubernetes\":{\"pod_id\":\"0f0e-11aa\"," +
                "\"labels\":{\"app\":\"web\",\"pod-template-hash\":\"7d4b9c\"},\"host\":\"ip-10-0-1-23.ec2.internal\"}}",
                Assert.Single(RecordsAsJson(result)));
        }
        finally
        {
            owner?.Dispose();
        }
    }

    [Fact]
    public void Rewritten_records_are_packed_as_msgpack_c_packs_them_and_keep_v2_metadata()
    {
        // A record with non-minimal encodings (int16 for 5, str8 for a short string) and a v2 event header.
        byte[] record = [0x82, 0xa1, (byte)'a', 0xd1, 0x00, 0x05, 0xa1, (byte)'s', 0xd9, 0x01, (byte)'x'];
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        EventWriter.WriteEventV2(ref writer, Time, [0x81, 0xa1, (byte)'m', 0x01], record);
        EventWriter.WriteEvent(ref writer, Time, record);
        writer.Flush();
        var chunk = new EventChunk("t", buffer.WrittenMemory.ToArray(), 2);

        var result = Run(chunk, Filter(("Name", "modify"), ("Add", "b c")));
        var reader = new EventReader(result.Events);
        Assert.True(reader.TryRead(out var first));
        Assert.Equal(new byte[] { 0x81, 0xa1, (byte)'m', 0x01 }, first.Metadata.ToArray());
        byte[] expected = [0x83, 0xa1, (byte)'a', 0x05, 0xa1, (byte)'s', 0xa1, (byte)'x', 0xa1, (byte)'b', 0xa1, (byte)'c'];
        Assert.Equal(expected, first.Record.ToArray());
        Assert.True(reader.TryRead(out var second));
        Assert.Equal(expected, second.Record.ToArray());
        Assert.Equal(Time, second.Time);
    }

    [Theory]
    [InlineData(new byte[] { 0xd1, 0x01, 0x2c }, new byte[] { 0xcd, 0x01, 0x2c })] // 300 as int16 -> uint16
    [InlineData(new byte[] { 0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, new byte[] { 0xff })] // -1 as int64
    [InlineData(new byte[] { 0xc7, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8 }, new byte[] { 0xd7, 0x00, 1, 2, 3, 4, 5, 6, 7, 8 })] // ext8 -> fixext8
    [InlineData(new byte[] { 0xdc, 0x00, 0x01, 0xc0 }, new byte[] { 0x91, 0xc0 })] // array16 of one -> fixarray
    public void Non_canonical_values_are_repacked_only_when_the_record_changes(byte[] value, byte[] packed)
    {
        byte[] record = [0x81, 0xa1, (byte)'a', .. value];
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        EventWriter.WriteEvent(ref writer, Time, record);
        writer.Flush();
        var chunk = new EventChunk("t", buffer.WrittenMemory.ToArray(), 1);

        Assert.Equal(FilterOutcome.NotTouched, Outcome(Filter(("Name", "modify"), ("Add", "a again")), chunk));
        var result = Run(chunk, Filter(("Name", "modify"), ("Add", "b c")));
        var reader = new EventReader(result.Events);
        Assert.True(reader.TryRead(out var view));
        Assert.Equal([0x82, 0xa1, (byte)'a', .. packed, 0xa1, (byte)'b', 0xa1, (byte)'c'], view.Record.ToArray());
    }

    [Fact]
    public void Canonical_packing_matches_the_test_encoder_for_every_value_kind()
    {
        var json = "{\"s\":\"" + new string('x', 40) + "\",\"l\":\"" + new string('y', 300) + "\",\"i\":[0,127,128,255,256,65535,65536,4294967296,-1,-32,-33,-128,-129,-32768,-32769,-2147483649]," +
                   "\"f\":1.5,\"t\":true,\"n\":null,\"m\":{\"k\":{}}}";
        var bytes = JsonMsgpack.FromJson(json);
        var output = new ArrayBufferWriter<byte>();
        MsgpackCanonicalWriter.CopyValue(bytes, 0, output);
        Assert.Equal(bytes, output.WrittenSpan.ToArray());
    }
}
