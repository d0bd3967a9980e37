using Gateway.Aggregator.Filters.Kubernetes;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

public sealed class KubernetesFilterResilienceTests
{
    [Fact]
    public async Task Without_an_API_server_records_pass_untouched_and_nothing_crashes()
    {
        var document = ClassicConfigReader.Parse("""
            [FILTER]
                Name     kubernetes
                Match    *
                Kube_URL http://127.0.0.1:1
                Kube_Token_File /nonexistent/token
                Merge_Log On
            """, "down.conf");
        var section = document.Sections.Single(s => s.Kind == SectionKind.Filter);
        await using var filter = KubernetesFilter.Create(section, ParserRegistry.FromConfig(document), NullLoggerFactory.Instance, TimeProvider.System);
        filter.InitialSyncWait = TimeSpan.FromMilliseconds(200);
        var tag = "kube.var.log.containers.p_ns_c-" + KubernetesFilterHarness.ContainerId(1) + ".log";
        var events = KubernetesFilterHarness.Events(("{\"a\":1}", "stdout"));

        for (var i = 0; i < 3; i++)
        {
            var output = new System.Buffers.ArrayBufferWriter<byte>();
            Assert.Equal(Gateway.Engine.Pipeline.FilterOutcome.NotTouched, filter.Filter(new Gateway.Engine.Records.EventChunk(tag, events, 1), output, out var count));
            Assert.Equal(0, count);
        }

        Assert.False(filter.Source.PodsSynced.IsCompleted);
    }

    [Fact]
    public async Task Preloaded_pod_files_enrich_without_requests_and_survive_a_list_that_lacks_them()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(
            "Kube_Tag_Prefix application.var.log.containers.\nKube_Meta_Preload_Cache_Dir " + KubernetesFilterHarness.PodsDirectory);
        var file = KubernetesFilterHarness.FixtureLogFile("nginx-");
        var events = KubernetesFilterHarness.DockerEvents(file, out var count);

        var line = Assert.Single(h.Run("application.var.log.containers." + Path.GetFileName(file), events, count)!);

        Assert.Contains("\"pod_id\":\"198f7dd2-2270-11ea-be47-0a5d932f5920\"", line, StringComparison.Ordinal);
        Assert.Null(h.Filter.Source.Store.Find("default/nginx-5468c5d4d7-n2swr")!.DeletedAt);
        Assert.Equal(0, h.Server.PodGetRequests);
    }
}
