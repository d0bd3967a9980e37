using System.Buffers;
using System.Text;
using Gateway.Aggregator.Filters.Kubernetes;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Records;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

public sealed class KubernetesFilterUnitTests
{
    [Fact]
    public void Options_default_to_Fluent_Bits()
    {
        var options = KubernetesFilterOptions.FromSection(Section(string.Empty));

        Assert.Equal("https://kubernetes.default.svc:443", options.KubeUrl);
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", options.CaFile);
        Assert.Equal("/var/run/secrets/kubernetes.io/serviceaccount/token", options.TokenFile);
        Assert.Equal("kube.var.log.containers.", options.TagPrefix);
        Assert.False(options.MergeLog);
        Assert.True(options.KeepLog);
        Assert.True(options.MergeLogTrim);
        Assert.True(options.Labels);
        Assert.True(options.Annotations);
        Assert.False(options.OwnerReferences);
        Assert.False(options.K8sLoggingParser);
        Assert.False(options.K8sLoggingExclude);
        Assert.Equal(TimeSpan.FromMinutes(5), options.TombstoneTtl);
        Assert.Empty(options.IgnoredKeys);
    }

    [Fact]
    public void Container_insights_options_load_and_the_per_pod_request_options_are_reported_as_replaced()
    {
        var options = KubernetesFilterOptions.FromSection(Section("""
            Kube_URL            https://kubernetes.default.svc:443
            Kube_Tag_Prefix     application.var.log.containers.
            Merge_Log           On
            K8S-Logging.Parser  On
            K8S-Logging.Exclude On
            Labels              Off
            Annotations         On
            Use_Kubelet         On
            Kubelet_Port        10250
            Buffer_Size         0
            Kube_Meta_Cache_TTL 60s
            """));

        Assert.Equal("application.var.log.containers.", options.TagPrefix);
        Assert.False(options.Labels);
        Assert.Equal(TimeSpan.FromSeconds(60), options.MetaCacheTtl);
        Assert.Equal(["Buffer_Size", "Kubelet_Port", "Use_Kubelet"], options.IgnoredKeys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("centralized")]
    [InlineData("container-insights")]
    [InlineData("per-app-routing")]
    [InlineData("firehose-lift")]
    public void The_kubernetes_sections_of_every_seed_config_load(string deployment)
    {
        var environment = new Dictionary<string, string?>
        {
            ["AWS_REGION"] = "eu-west-1", ["CLUSTER_NAME"] = "c", ["HOST_NAME"] = "h", ["HTTP_SERVER"] = "On", ["HTTP_PORT"] = "2020",
            ["READ_FROM_HEAD"] = "Off", ["READ_FROM_TAIL"] = "On", ["MASTER_URL"] = "https://kubernetes.default.svc:443",
        };
        var directory = Path.GetDirectoryName(KubernetesFilterHarness.PodsDirectory)!;
        var sections = Directory.GetFiles(Path.Combine(directory, "seed-configs", deployment), "*.conf")
            .SelectMany(f => ClassicConfigReader.Load(f, environment).Sections)
            .Where(s => s.Kind == SectionKind.Filter && string.Equals(s.PluginName, "kubernetes", StringComparison.OrdinalIgnoreCase))
            .ToList();

        Assert.NotEmpty(sections);
        Assert.All(sections, s => Assert.True(KubernetesFilterOptions.FromSection(s).MergeLog));
    }

    [Theory]
    [InlineData("Merge_Log maybe", "Merge_Log 'maybe' is not on/off")]
    [InlineData("Kube_Meta_Cache_TTL soon", "Kube_Meta_Cache_TTL 'soon' is not a duration")]
    [InlineData("Use_Journal On", "Use_Journal On is not supported")]
    [InlineData("Use_Tag_For_Meta On", "Use_Tag_For_Meta On is not supported")]
    [InlineData("Kube_Token_Command aws-iam-authenticator token", "Kube_Token_Command is not supported")]
    public void Bad_options_name_the_file_and_line(string line, string message)
    {
        var ex = Assert.Throws<ConfigException>(() => KubernetesFilterOptions.FromSection(Section(line)));

        Assert.StartsWith("k.conf:3: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_undefined_Regex_Parser_or_a_bad_Kube_URL_fails_creation_with_the_line()
    {
        var parsers = ParserRegistry.FromConfig(ClassicConfigReader.Parse(string.Empty, "p.conf"));

        var parser = Assert.Throws<ConfigException>(() => KubernetesFilter.Create(Section("Regex_Parser nope"), parsers, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, TimeProvider.System));
        var url = Assert.Throws<ConfigException>(() => KubernetesFilter.Create(Section("Kube_URL ftp://x"), parsers, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, TimeProvider.System));

        Assert.Equal("k.conf:3: Regex_Parser 'nope' is not a defined [PARSER]", parser.Message);
        Assert.Equal("k.conf:3: Kube_URL 'ftp://x' is not an http(s) URL", url.Message);
    }

    [Fact]
    public void The_default_tag_regex_splits_pod_namespace_container_and_id()
    {
        var parser = new KubernetesTagParser("kube.var.log.containers.", null);
        var id = new string('a', 64);

        var info = parser.Parse($"kube.var.log.containers.my-app.v2-7c9_team-ns_side-car-{id}.log");

        Assert.NotNull(info);
        Assert.Equal("my-app.v2-7c9", info.PodName);
        Assert.Equal("team-ns", info.NamespaceName);
        Assert.Equal("side-car", info.ContainerName);
        Assert.Equal(id, info.DockerId);
        Assert.Equal("team-ns/my-app.v2-7c9", info.PodKey);
        Assert.Null(parser.Parse("kube.var.log.containers."));
        Assert.Null(parser.Parse($"kube.var.log.containers.UPPER_ns_c-{id}.log"));
        Assert.Null(parser.Parse("kube.var.log.containers.pod_ns_c-short.log"));
    }

    [Fact]
    public void A_Regex_Parser_reads_the_same_named_groups_from_a_custom_tag()
    {
        var document = ClassicConfigReader.Parse("""
            [PARSER]
                Name    custom-tag
                Format  regex
                Regex   ^(?<namespace_name>[^_]+)\.(?<pod_name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)\.(?<container_name>.+)\.(?<docker_id>[a-z0-9]{64})
            """, "p.conf");
        var parsers = ParserRegistry.FromConfig(document);
        var parser = new KubernetesTagParser("kube.", parsers.Find("custom-tag"));
        var id = new string('b', 64);

        var info = parser.Parse($"kube.shop.cart-1.app.{id}");

        Assert.NotNull(info);
        Assert.Equal(("cart-1", "shop", "app", id), (info.PodName, info.NamespaceName, info.ContainerName!, info.DockerId!));
    }

    [Theory]
    [InlineData("docker-pullable://nginx@sha256:0e61", "nginx@sha256:0e61")]
    [InlineData("docker://b90a8930", "b90a8930")]
    [InlineData("registry/x@sha256:f0e8", "registry/x@sha256:f0e8")]
    [InlineData("no-colon", null)]
    [InlineData("scheme://", null)]
    public void Container_hash_is_extracted_as_kube_meta_does(string value, string? expected) =>
        Assert.Equal(expected, PodMetadata.ExtractHash(value));

    [Theory]
    [InlineData("hello\n", "hello")]
    [InlineData("hello\n\n", "hello")]
    [InlineData("hello\\n", "hello")]
    [InlineData("hello\\r\\n\n", "hello")]
    [InlineData("hello", "hello")]
    [InlineData("\n", "\n")]
    public void Merge_Log_Trim_is_value_trim_size(string value, string expected)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        Assert.Equal(expected, Encoding.UTF8.GetString(bytes, 0, KubernetesRecordMerger.TrimmedLength(bytes)));
    }

    [Fact]
    public void Watch_retry_backs_off_from_one_second_to_thirty()
    {
        var policy = new WatchRetryPolicy();

        Assert.Equal(
            [1, 2, 4, 8, 16, 30, 30],
            Enumerable.Range(1, 7).Select(n => (int)policy.DelayFor(n).TotalSeconds));
    }

    [Fact]
    public void Miss_lookups_are_rate_limited_by_a_token_bucket()
    {
        var clock = new FakeTimeProvider();
        var limiter = new PodLookupRateLimiter(clock, permitsPerSecond: 5, burst: 10);

        Assert.Equal(10, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire()));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(5, Enumerable.Range(0, 20).Count(_ => limiter.TryAcquire()));
    }

    [Fact]
    public void A_re_list_turns_pods_it_no_longer_has_into_tombstones_that_expire_after_the_ttl()
    {
        var clock = new FakeTimeProvider();
        var store = new PodMetadataStore(clock, TimeSpan.FromMinutes(5));
        var options = new KubernetesFilterOptions();
        var a = PodMetadata.FromPod(V1Pod("a", "uid-a"), options)!;
        var b = PodMetadata.FromPod(V1Pod("b", "uid-b"), options)!;
        store.ReplaceAll([a, b]);

        store.ReplaceAll([a]);

        Assert.Null(store.Find("ns/a")!.DeletedAt);
        Assert.NotNull(store.Find("ns/b")!.DeletedAt);
        clock.Advance(TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(1));
        Assert.Null(store.Find("ns/b"));
        Assert.NotNull(store.Find("ns/a"));

        // A delete of an older incarnation (other uid) leaves the current pod alone.
        store.MarkDeleted(PodMetadata.FromPod(V1Pod("a", "uid-old"), options)!);
        Assert.Null(store.Find("ns/a")!.DeletedAt);
    }

    [Fact]
    public async Task Enriching_a_chunk_allocates_nothing_per_record()
    {
        var id = KubernetesFilterHarness.ContainerId(3);
        await using var h = await KubernetesFilterHarness.StartAsync(
            "Merge_Log On\nMerge_Log_Key data",
            s => s.PutPod(KubernetesFilterHarness.Pod("shop", "hot-1", "node-a", "uid-h", "app", id)));
        var tag = "kube.var.log.containers.hot-1_shop_app-" + id + ".log";
        var output = new ArrayBufferWriter<byte>(1 << 20);

        // The same number of chunks with 50 and with 400 records: whatever a chunk costs (a few hundred bytes at
        // most), the records themselves must cost nothing beyond the output buffer.
        var small = AllocatedFor(h, tag, 50, output);
        var large = AllocatedFor(h, tag, 400, output);

        var perRecord = (large - small) / (20.0 * 350);
        Assert.True(perRecord < 0.1, $"{perRecord:F2} bytes allocated per record (chunks of 50: {small} B, of 400: {large} B)");
        Assert.True(large / 20 < 2048, $"{large / 20} bytes allocated per chunk");
    }

    private static long AllocatedFor(KubernetesFilterHarness h, string tag, int records, ArrayBufferWriter<byte> output)
    {
        var lines = Enumerable.Range(0, records).Select(i => ($"{{\"n\":{i},\"msg\":\"line {i}\\n\"}}\n", i % 2 == 0 ? "stdout" : "stderr")).ToArray();
        var chunk = new EventChunk(tag, KubernetesFilterHarness.Events(lines), records);
        output.ResetWrittenCount();
        h.Filter.Filter(chunk, output, out _); // warm: tag parse, metadata encode, scratch buffers

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 20; i++)
        {
            output.ResetWrittenCount();
            h.Filter.Filter(chunk, output, out var count);
            Assert.Equal(records, count);
        }

        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void The_token_file_is_read_again_after_Kube_Token_TTL()
    {
        var clock = new FakeTimeProvider();
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "first\n");
            var provider = new KubernetesTokenFileProvider(path, TimeSpan.FromSeconds(600), clock, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, "k");
            Assert.Equal("Bearer first", provider.GetAuthenticationHeaderAsync(default).Result.ToString());

            File.WriteAllText(path, "rotated");
            clock.Advance(TimeSpan.FromSeconds(599));
            Assert.Equal("Bearer first", provider.GetAuthenticationHeaderAsync(default).Result.ToString());
            clock.Advance(TimeSpan.FromSeconds(2));
            Assert.Equal("Bearer rotated", provider.GetAuthenticationHeaderAsync(default).Result.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Event_metadata_of_the_v2_format_is_kept()
    {
        var id = KubernetesFilterHarness.ContainerId(4);
        await using var h = await KubernetesFilterHarness.StartAsync(
            string.Empty, s => s.PutPod(KubernetesFilterHarness.Pod("shop", "meta-1", "node-a", "uid-m", "app", id)));
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePack.MessagePackWriter(buffer);
        EventWriter.WriteEventV2(ref writer, new EventTime(1_700_000_000, 5), [0x81, 0xA1, (byte)'k', 0x01], [0x81, 0xA3, (byte)'l', (byte)'o', (byte)'g', 0xA1, (byte)'x']);
        writer.Flush();
        var output = new ArrayBufferWriter<byte>();

        h.Filter.Filter(new EventChunk("kube.var.log.containers.meta-1_shop_app-" + id + ".log", buffer.WrittenMemory, 1), output, out var count);

        Assert.Equal(1, count);
        var reader = new EventReader(output.WrittenMemory);
        Assert.True(reader.TryRead(out var view));
        Assert.Equal(new EventTime(1_700_000_000, 5), view.Time);
        Assert.Equal(new byte[] { 0x81, 0xA1, (byte)'k', 0x01 }, view.Metadata.ToArray());
    }

    private static k8s.Models.V1Pod V1Pod(string name, string uid) => new()
    {
        Metadata = new k8s.Models.V1ObjectMeta { Name = name, NamespaceProperty = "ns", Uid = uid },
    };

    private static ConfigSection Section(string options)
    {
        var text = "[FILTER]\n    Name kubernetes\n" + string.Join('\n', options.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l.Trim()));
        return ClassicConfigReader.Parse(text, "k.conf").Sections.Single(s => s.Kind == SectionKind.Filter);
    }
}
