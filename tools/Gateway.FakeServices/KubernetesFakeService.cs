using System.Globalization;
using System.Text.Json.Nodes;
using Gateway.Aggregator.Tests.Fakes.KubernetesApi;
using Gateway.Tools;

namespace Gateway.FakeServices;

/// <summary>
/// The tests' <see cref="FakeKubernetesApiServer"/> seeded with <see cref="SyntheticPods"/> 0..N-1: Deployment pods
/// with labels, annotations (none of them <c>fluentbit.io/*</c>, so no per-record parser or exclusion), an owner
/// reference and container statuses, shaped like a real API server's.
/// </summary>
internal sealed class KubernetesFakeService : IFakeService
{
    private readonly FakeKubernetesApiServer _server;
    private readonly int _pods;

    private KubernetesFakeService(FakeKubernetesApiServer server, int pods)
    {
        _server = server;
        _pods = pods;
    }

    public string Endpoint => string.Create(CultureInfo.InvariantCulture, $"kubernetes_url={_server.Url} pods={_pods} token={_server.Token}");

    public static async Task<KubernetesFakeService> StartAsync(int pods, string token)
    {
        var server = await FakeKubernetesApiServer.StartAsync(token).ConfigureAwait(false);
        for (var i = 0; i < pods; i++)
        {
            server.PutPod(BuildPod(i));
        }

        return new KubernetesFakeService(server, pods);
    }

    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"kubernetes_requests list={_server.PodListRequests} watch={_server.PodWatchRequests} get={_server.PodGetRequests} unauthorized={_server.UnauthorizedRequests} unexpected={_server.UnexpectedRequests} total={_server.RequestLog.Count}");

    internal static JsonObject BuildPod(int i)
    {
        var deployment = SyntheticPods.DeploymentName(i);
        var ns = SyntheticPods.Namespace(i);
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = SyntheticPods.PodName(i),
                ["namespace"] = ns,
                ["uid"] = SyntheticPods.Uid(i),
                ["creationTimestamp"] = "2026-11-20T08:00:00Z",
                ["labels"] = new JsonObject
                {
                    ["app"] = deployment,
                    ["app.kubernetes.io/name"] = deployment,
                    ["app.kubernetes.io/part-of"] = ns,
                    ["pod-template-hash"] = SyntheticPods.TemplateHash(i),
                    ["version"] = "v1." + (SyntheticPods.Deployment(i) % 7).ToString(CultureInfo.InvariantCulture) + ".3",
                },
                ["annotations"] = new JsonObject
                {
                    ["kubectl.kubernetes.io/restartedAt"] = "2026-11-20T08:00:00Z",
                    ["prometheus.io/scrape"] = "true",
                    ["prometheus.io/port"] = "8080",
                    ["kubernetes.io/psp"] = "eks.privileged",
                },
                ["ownerReferences"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["apiVersion"] = "apps/v1",
                        ["kind"] = "ReplicaSet",
                        ["name"] = SyntheticPods.ReplicaSetName(i),
                        ["uid"] = SyntheticPods.Uid(-1 - SyntheticPods.Deployment(i)),
                        ["controller"] = true,
                        ["blockOwnerDeletion"] = true,
                    },
                },
            },
            ["spec"] = new JsonObject
            {
                ["nodeName"] = SyntheticPods.NodeName(i),
                ["containers"] = new JsonArray
                {
                    new JsonObject { ["name"] = SyntheticPods.ContainerName, ["image"] = SyntheticPods.Image(i) },
                },
            },
            ["status"] = new JsonObject
            {
                ["phase"] = "Running",
                ["podIP"] = SyntheticPods.PodIp(i),
                ["containerStatuses"] = new JsonArray
                {
                    new JsonObject
                    {
                        ["name"] = SyntheticPods.ContainerName,
                        ["image"] = SyntheticPods.Image(i),
                        ["imageID"] = SyntheticPods.Image(i).Split(':')[0] + "@" + SyntheticPods.ImageDigest(i),
                        ["containerID"] = "containerd://" + SyntheticPods.ContainerId(i),
                        ["ready"] = true,
                        ["restartCount"] = 0,
                    },
                },
            },
        };
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
