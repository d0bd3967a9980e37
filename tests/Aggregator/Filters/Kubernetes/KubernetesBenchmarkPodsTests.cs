using Gateway.FakeServices;
using Gateway.Tools;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>
/// scripts/bench-kubernetes.sh measures only if the load tool's tags name pods the fake host serves: one record of
/// a synthetic pod's tag, through the filter as the benchmark configures it, gets that pod's metadata.
/// </summary>
public sealed class KubernetesBenchmarkPodsTests
{
    [Fact]
    public async Task A_load_tool_tag_gets_the_metadata_of_the_fake_hosts_pod_with_that_name()
    {
        await using var h = await KubernetesFilterHarness.StartAsync("Merge_Log On\nLabels On\nAnnotations On", server =>
        {
            for (var i = 0; i < 8; i++)
            {
                server.PutPod(KubernetesFakeService.BuildPod(i));
            }
        });

        var line = Assert.Single(h.Run(SyntheticPods.Tag(5), KubernetesFilterHarness.Events(("{\"level\":\"info\",\"msg\":\"GET /\"}\n", "stdout")), 1)!);

        Assert.Equal("svc-0001-255d523317-7a89c", SyntheticPods.PodName(5));
        Assert.Equal(
            """
            1700000000.000000000 {"log":"{\"level\":\"info\",\"msg\":\"GET /\"}\n","stream":"stdout","level":"info","msg":"GET /","kubernetes":{"pod_name":"svc-0001-255d523317-7a89c","namespace_name":"team-01","pod_id":"7bce9321-9111-25a9-0df6-28457569c8b0","labels":{"app":"svc-0001","app.kubernetes.io/name":"svc-0001","app.kubernetes.io/part-of":"team-01","pod-template-hash":"255d523317","version":"v1.1.3"},"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-20T08:00:00Z","prometheus.io/scrape":"true","prometheus.io/port":"8080","kubernetes.io/psp":"eks.privileged"},"host":"ip-10-0-0-90.ec2.internal","pod_ip":"10.1.0.7","container_name":"app","docker_id":"07ce2908b5ad9509c3b50283ea981942dddf28d46b560d39490dfd7048685bd5","container_hash":"123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-0001@sha256:0cf457e24a479f02fd4d34540389f720f0807dcff92a7562108165b2637ea82f","container_image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/svc-0001:v1.1.3"}}
            """, line);
        Assert.Equal(0, h.Server.PodGetRequests);
    }
}
