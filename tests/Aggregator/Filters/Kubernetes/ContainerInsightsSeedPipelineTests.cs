using System.Globalization;
using Gateway.Engine.Config;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>Runs the container-insights seed once: its application tail over the fixture node, then the
/// <c>[FILTER]</c>s of <c>application-log.conf</c> in config order.</summary>
public sealed class ContainerInsightsSeedPipelineFixture : IAsyncLifetime
{
    internal SeedPipeline Pipeline { get; private set; } = null!;

    public static IEnumerable<ConfigSection> ApplicationFilters(ConfigDocument document) =>
        document.OfKind(SectionKind.Filter).Where(s => Path.GetFileName(s.Location.File) == "application-log.conf");

    public async Task InitializeAsync()
    {
        var document = SeedPipeline.Load("container-insights/fluent-bit.conf");

        // nginx 1 + pose 3 + python 2 + user-service 1; aws-node is in Exclude_Path.
        Pipeline = await SeedPipeline.RunAsync(document, "application.*", 7, ApplicationFilters(document));
    }

    public async Task DisposeAsync()
    {
        if (Pipeline is not null)
        {
            await Pipeline.DisposeAsync();
        }
    }
}

/// <summary>
/// Acceptance 2: the container-insights <c>application-log.conf</c> pipeline (kubernetes with Merge_Log,
/// Labels Off, Annotations On; grep on <c>$kubernetes['annotations']['fluentbit/enabled']</c>; grep on
/// <c>level</c>; nest lift with <c>k8s_</c>; record_modifier removals; nest back under <c>kubernetes</c>) on the
/// fixture container logs and pods. Each expected record is what Fluent Bit's chain yields, written out in full:
/// kubernetes.c appends the merged keys after the original ones and <c>kubernetes</c> last; nest lift keeps the
/// other keys first and appends the lifted ones; nest packs the rest first and the new map last.
/// </summary>
public sealed class ContainerInsightsSeedPipelineTests(ContainerInsightsSeedPipelineFixture fixture) : IClassFixture<ContainerInsightsSeedPipelineFixture>
{
    private const string Application = "application.";

    [Fact]
    public void Pose_job_json_lines_with_a_level_come_out_merged_with_only_pod_id_and_host_under_kubernetes()
    {
        // The third line ("plain text line without level") is not JSON: nothing merged, no level, grep drops it.
        Assert.Equal(3, fixture.Pipeline.InputCount(Application, "pose-job-"));
        Assert.Equal(
            [
                "1759288365.100000000 " +
                """{"time":"2025-10-01T03:12:45.100000000Z","level":"INFO","message":"Received signal: 15. Shutting down gracefully.","ai_module":"pose","site":"site-a","date":"2025-10-01","sync":"sync_001","cam_num":3,"kubernetes":{"pod_id":"7d1e2f3a-9b8c-4d5e-8f70-112233445566","host":"ip-10-1-64-21.ap-northeast-2.compute.internal"}}""",
                "1759288365.000000000 " +
                """{"time":"2025-10-01T03:12:45.000000000Z","level":"WARNING","message":"Process is busy. But SIGTERM Occured from main process.","ai_module":"pose","site":"site-a","date":"2025-10-01","kubernetes":{"pod_id":"7d1e2f3a-9b8c-4d5e-8f70-112233445566","host":"ip-10-1-64-21.ap-northeast-2.compute.internal"}}""",
            ],
            fixture.Pipeline.Output(Application, "pose-job-"));
    }

    [Fact]
    public async Task Acceptance_3_late_lines_of_the_keda_job_pod_deleted_60_seconds_earlier_are_still_enriched()
    {
        // The pose ScaledJob pod finishes and is deleted; its last lines reach the aggregator a minute later. The
        // tombstone (kept 5 minutes by default) still enriches them: same records as while the pod was alive, and
        // no GET (which the API server would answer with 404 by now).
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T12:00:00Z", CultureInfo.InvariantCulture));
        var document = SeedPipeline.Load("container-insights/fluent-bit.conf");
        await using var pipeline = await SeedPipeline.RunAsync(
            document,
            "application.*",
            7,
            ContainerInsightsSeedPipelineFixture.ApplicationFilters(document),
            clock,
            async (server, kubernetes) =>
            {
                server.DeletePod("ml-pipeline", "pose-job-x7k2p");
                await KubernetesFilterHarness.WaitUntilAsync(
                    () => kubernetes.Source.Store.Find("ml-pipeline/pose-job-x7k2p")?.DeletedAt is not null, "the DELETED event of pose-job-x7k2p");
                clock.Advance(TimeSpan.FromSeconds(60));
            });

        Assert.Equal(fixture.Pipeline.Output(Application, "pose-job-"), pipeline.Output(Application, "pose-job-"));
        Assert.Equal(2, pipeline.Output(Application, "pose-job-").Count);
        Assert.Equal(0, pipeline.Server.PodGetRequests);
    }

    [Fact]
    public void User_service_is_enabled_by_annotation_but_has_no_level_so_the_level_grep_drops_it()
    {
        Assert.Equal(1, fixture.Pipeline.InputCount(Application, "user-service-"));
        Assert.Empty(fixture.Pipeline.Output(Application, "user-service-"));
    }

    [Fact]
    public void Python_app_without_the_fluentbit_enabled_annotation_is_dropped()
    {
        Assert.Equal(2, fixture.Pipeline.InputCount(Application, "python-app-"));
        Assert.Empty(fixture.Pipeline.Output(Application, "python-app-"));
    }

    [Fact]
    public void Nginx_without_the_fluentbit_enabled_annotation_is_dropped()
    {
        Assert.Equal(1, fixture.Pipeline.InputCount(Application, "nginx-"));
        Assert.Empty(fixture.Pipeline.Output(Application, "nginx-"));
    }

    [Fact]
    public void Aws_node_is_left_to_the_dataplane_tail_by_Exclude_Path()
    {
        Assert.DoesNotContain(fixture.Pipeline.Tags, t => t.Contains("aws-node", StringComparison.Ordinal));
        Assert.Equal(4, fixture.Pipeline.Tags.Count);
    }
}
