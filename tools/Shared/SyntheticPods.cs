using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Tools;

/// <summary>
/// The synthetic pods of the Kubernetes benchmark, named the same way by the fake API host (which serves them) and
/// the load tool (which sends their container log tags): pod <c>i</c> is always the same pod, so both sides agree
/// without exchanging a list. Deployments of <see cref="Replicas"/> pods spread over <see cref="Namespaces"/>
/// namespaces and <see cref="Nodes"/> nodes, one container each, as a typical cluster's workload pods.
/// </summary>
internal static class SyntheticPods
{
    public const int Namespaces = 10;
    public const int Nodes = 50;
    public const int Replicas = 4;
    public const string ContainerName = "app";
    public const string TagPrefix = "kube.var.log.containers.";

    public static string Namespace(int pod) => string.Create(CultureInfo.InvariantCulture, $"team-{Deployment(pod) % Namespaces:D2}");

    public static int Deployment(int pod) => pod / Replicas;

    public static string DeploymentName(int pod) => string.Create(CultureInfo.InvariantCulture, $"svc-{Deployment(pod):D4}");

    /// <summary>The ReplicaSet's pod-template-hash, as the Deployment controller names it (10 characters).</summary>
    public static string TemplateHash(int pod) => Hex("rs", Deployment(pod))[..10];

    public static string ReplicaSetName(int pod) => DeploymentName(pod) + "-" + TemplateHash(pod);

    public static string PodName(int pod) => ReplicaSetName(pod) + "-" + Hex("pod", pod)[..5];

    public static string NodeName(int pod) => string.Create(CultureInfo.InvariantCulture, $"ip-10-0-{pod % Nodes / 8}-{pod % Nodes % 8 * 16 + 10}.ec2.internal");

    public static string PodIp(int pod) => string.Create(CultureInfo.InvariantCulture, $"10.1.{pod / 250 % 250}.{pod % 250 + 2}");

    public static string Uid(int pod) => new Guid(SHA256.HashData(Encoding.UTF8.GetBytes("uid-" + pod.ToString(CultureInfo.InvariantCulture)))[..16]).ToString();

    /// <summary>The container id docker or containerd gives the pod's container (64 hex digits, in the log file name).</summary>
    public static string ContainerId(int pod) => Hex("container", pod);

    public static string Image(int pod) => string.Create(CultureInfo.InvariantCulture, $"123456789012.dkr.ecr.us-east-1.amazonaws.com/{DeploymentName(pod)}:v1.{Deployment(pod) % 7}.3");

    public static string ImageDigest(int pod) => "sha256:" + Hex("image", Deployment(pod));

    /// <summary>The tail tag of the pod's container log, as a node's Fluent Bit sends it (Tag kube.* on /var/log/containers/*.log).</summary>
    public static string Tag(int pod) => string.Concat(TagPrefix, PodName(pod), "_", Namespace(pod), "_", ContainerName, "-", ContainerId(pod), ".log");

    private static string Hex(string kind, int index) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(kind + "-" + index.ToString(CultureInfo.InvariantCulture))));
}
