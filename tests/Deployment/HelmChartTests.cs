using System.Text.RegularExpressions;
using Gateway.Aggregator.Tests.EndToEnd;
using YamlDotNet.RepresentationModel;

namespace Gateway.Deployment.Tests;

/// <summary>
/// The Helm chart under deploy/helm/gateway, rendered as helm would (no helm binary here) and checked the way an
/// operator reviewing <c>helm template</c> output would: kinds, names, selectors that select, ports that line up,
/// RBAC the kubernetes filter needs, and the node mounts the shipper reads.
/// </summary>
public sealed partial class HelmChartTests
{
    private const string Release = "gw";
    private const string Namespace = "logging";

    internal static string ChartDirectory => Path.Combine(RepositoryPaths.RepositoryRoot, "deploy", "helm", "gateway");

    internal static List<(string Template, YamlMappingNode Manifest)> Render(Dictionary<string, object?>? overrides = null) =>
        HelmTemplateRenderer.Load(ChartDirectory, Release, Namespace, overrides).RenderManifests();

    internal static YamlMappingNode Single(List<(string Template, YamlMappingNode Manifest)> manifests, string kind, string name)
    {
        var found = manifests.Where(m => Scalar(m.Manifest, "kind") == kind && Scalar(m.Manifest, "metadata.name") == name).ToList();
        Assert.True(found.Count == 1, $"expected one {kind} {name}, found {found.Count} among: {string.Join(", ", manifests.Select(m => Scalar(m.Manifest, "kind") + "/" + Scalar(m.Manifest, "metadata.name")))}");
        return found[0].Manifest;
    }

    internal static YamlNode? Node(YamlNode node, string path)
    {
        var current = node;
        foreach (var part in path.Split('.'))
        {
            if (current is YamlMappingNode map && map.Children.TryGetValue(new YamlScalarNode(part), out var child))
            {
                current = child;
            }
            else
            {
                return null;
            }
        }

        return current;
    }

    internal static string? Scalar(YamlNode node, string path) => (Node(node, path) as YamlScalarNode)?.Value;

    internal static IEnumerable<YamlMappingNode> Items(YamlNode node, string path) =>
        Node(node, path) is YamlSequenceNode list ? list.Children.Cast<YamlMappingNode>() : [];

    internal static Dictionary<string, string> Map(YamlNode node, string path) =>
        Node(node, path) is YamlMappingNode map
            ? map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => ((YamlScalarNode)kv.Value).Value!)
            : [];

    private static YamlMappingNode Container(YamlMappingNode workload) => Items(workload, "spec.template.spec.containers").Single();

    [Fact]
    public void Chart_yaml_is_a_v2_application_chart()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(ChartDirectory, "Chart.yaml"))));
        var chart = (YamlMappingNode)stream.Documents[0].RootNode;
        Assert.Equal("v2", Scalar(chart, "apiVersion"));
        Assert.Equal("gateway", Scalar(chart, "name"));
        Assert.Equal("application", Scalar(chart, "type"));
    }

    [Fact]
    public void Every_values_reference_in_the_templates_exists_in_values_yaml()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(ChartDirectory, "values.yaml"))));
        var values = stream.Documents[0].RootNode;
        var missing = new List<string>();
        foreach (var template in Directory.GetFiles(Path.Combine(ChartDirectory, "templates")))
        {
            foreach (Match match in ValuesReference().Matches(File.ReadAllText(template)))
            {
                if (Node(values, match.Groups[1].Value) is null)
                {
                    missing.Add($"{Path.GetFileName(template)}: .Values.{match.Groups[1].Value}");
                }
            }
        }

        Assert.Empty(missing);
    }

    [Fact]
    public void Default_install_renders_every_object_an_operator_expects()
    {
        var manifests = Render();
        var kinds = manifests.Select(m => $"{Scalar(m.Manifest, "kind")}/{Scalar(m.Manifest, "metadata.name")}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            [
                "ClusterRole/gw-aggregator",
                "ClusterRoleBinding/gw-aggregator",
                "ConfigMap/gw-config",
                "DaemonSet/gw-shipper",
                "Deployment/gw-aggregator",
                "HorizontalPodAutoscaler/gw-aggregator",
                "PodDisruptionBudget/gw-aggregator",
                "Service/gw-aggregator",
                "ServiceAccount/gw-aggregator",
                "ServiceAccount/gw-shipper",
            ],
            kinds);
        foreach (var (template, manifest) in manifests)
        {
            Assert.False(string.IsNullOrEmpty(Scalar(manifest, "apiVersion")), $"{template}: no apiVersion");
            Assert.Equal(Release, Map(manifest, "metadata.labels")["app.kubernetes.io/instance"]);
        }
    }

    [Fact]
    public void Workload_selectors_select_their_own_pods_and_nothing_else()
    {
        var manifests = Render();
        var aggregator = Single(manifests, "Deployment", "gw-aggregator");
        var shipper = Single(manifests, "DaemonSet", "gw-shipper");
        var aggregatorPods = Map(aggregator, "spec.template.metadata.labels");
        var shipperPods = Map(shipper, "spec.template.metadata.labels");

        static bool Selects(Dictionary<string, string> selector, Dictionary<string, string> labels) =>
            selector.Count > 0 && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);

        Assert.True(Selects(Map(aggregator, "spec.selector.matchLabels"), aggregatorPods));
        Assert.True(Selects(Map(shipper, "spec.selector.matchLabels"), shipperPods));
        foreach (var selector in new[]
                 {
                     Map(Single(manifests, "Service", "gw-aggregator"), "spec.selector"),
                     Map(Single(manifests, "PodDisruptionBudget", "gw-aggregator"), "spec.selector.matchLabels"),
                     Map(aggregator, "spec.selector.matchLabels"),
                 })
        {
            Assert.True(Selects(selector, aggregatorPods));
            Assert.False(Selects(selector, shipperPods), "an aggregator selector also selects the shipper's pods");
        }

        Assert.False(Selects(Map(shipper, "spec.selector.matchLabels"), aggregatorPods));
    }

    [Fact]
    public void Service_ports_reach_named_container_ports_and_probes_use_the_health_endpoints()
    {
        var manifests = Render();
        var aggregator = Container(Single(manifests, "Deployment", "gw-aggregator"));
        var containerPorts = Items(aggregator, "ports").ToDictionary(p => Scalar(p, "name")!, p => Scalar(p, "containerPort")!);
        Assert.Equal(new Dictionary<string, string> { ["forward"] = "24224", ["grpc"] = "24225", ["http"] = "2020" }, containerPorts);

        var service = Single(manifests, "Service", "gw-aggregator");
        var servicePorts = Items(service, "spec.ports").ToList();
        Assert.Equal(3, servicePorts.Count);
        foreach (var port in servicePorts)
        {
            var target = Scalar(port, "targetPort")!;
            Assert.True(containerPorts.ContainsKey(target), $"service port {Scalar(port, "name")} targets '{target}', not a container port");
            Assert.Equal(containerPorts[target], Scalar(port, "port"));
        }

        Assert.Equal("/healthz", Scalar(aggregator, "livenessProbe.httpGet.path"));
        Assert.Equal("/readyz", Scalar(aggregator, "readinessProbe.httpGet.path"));
        Assert.Equal("http", Scalar(aggregator, "readinessProbe.httpGet.port"));
    }

    [Fact]
    public void Aggregator_may_list_and_watch_pods_and_namespaces_and_runs_as_the_bound_account()
    {
        var manifests = Render();
        var rules = Items(Single(manifests, "ClusterRole", "gw-aggregator"), "rules").ToList();
        foreach (var resource in new[] { "pods", "namespaces" })
        {
            Assert.Contains(rules, rule =>
                ((YamlSequenceNode)rule["resources"]).Children.Any(r => r.ToString() == resource)
                && new[] { "list", "watch", "get" }.All(verb => ((YamlSequenceNode)rule["verbs"]).Children.Any(v => v.ToString() == verb))
                && ((YamlSequenceNode)rule["apiGroups"]).Children.Any(g => g.ToString() == string.Empty));
        }

        Assert.DoesNotContain(rules, rule => ((YamlSequenceNode)rule["verbs"]).Children.Any(v => v.ToString() is "create" or "update" or "patch" or "delete" or "*"));

        var binding = Single(manifests, "ClusterRoleBinding", "gw-aggregator");
        Assert.Equal("gw-aggregator", Scalar(binding, "roleRef.name"));
        var subject = Items(binding, "subjects").Single();
        Assert.Equal(("ServiceAccount", "gw-aggregator", Namespace), (Scalar(subject, "kind"), Scalar(subject, "name"), Scalar(subject, "namespace")));
        Assert.Equal("gw-aggregator", Scalar(Single(manifests, "Deployment", "gw-aggregator"), "spec.template.spec.serviceAccountName"));

        // The shipper gets no API token at all: enrichment is the aggregator's job.
        var shipper = Single(manifests, "DaemonSet", "gw-shipper");
        Assert.Equal("false", Scalar(shipper, "spec.template.spec.automountServiceAccountToken"));
        Assert.Equal("gw-shipper", Scalar(shipper, "spec.template.spec.serviceAccountName"));
    }

    [Fact]
    public void Irsa_role_arn_lands_on_the_aggregator_service_account()
    {
        Assert.Empty(Map(Single(Render(), "ServiceAccount", "gw-aggregator"), "metadata.annotations"));
        var arn = "arn:aws:iam::111122223333:role/gateway";
        var account = Single(Render(new() { ["serviceAccount.roleArn"] = arn }), "ServiceAccount", "gw-aggregator");
        Assert.Equal(arn, Map(account, "metadata.annotations")["eks.amazonaws.com/role-arn"]);
    }

    [Fact]
    public void Shipper_runs_on_every_node_with_the_node_log_mounts_and_its_node_name()
    {
        var shipper = Single(Render(), "DaemonSet", "gw-shipper");
        var pod = Node(shipper, "spec.template.spec")!;
        Assert.Equal("system-node-critical", Scalar(pod, "priorityClassName"));
        var tolerations = Items(pod, "tolerations").Select(t => (Scalar(t, "key"), Scalar(t, "operator"), Scalar(t, "effect"))).ToList();
        Assert.Contains((null, "Exists", "NoSchedule"), tolerations);
        Assert.Contains((null, "Exists", "NoExecute"), tolerations);

        var hostPaths = Items(pod, "volumes").Where(v => Node(v, "hostPath") is not null).ToDictionary(v => Scalar(v, "name")!, v => Scalar(v, "hostPath.path")!);
        var container = Container(shipper);
        var mounts = Items(container, "volumeMounts").ToDictionary(m => Scalar(m, "name")!, m => (Path: Scalar(m, "mountPath"), ReadOnly: Scalar(m, "readOnly") == "true"));
        foreach (var path in new[] { "/var/log", "/var/lib/docker/containers", "/run/log/journal" })
        {
            var volume = hostPaths.Single(kv => kv.Value == path).Key;
            Assert.Equal((path, true), mounts[volume]);
        }

        // Offsets and cursors (the seeds' DB paths) survive pod restarts on the node.
        var state = hostPaths.Single(kv => kv.Value == "/var/fluent-bit/state").Key;
        Assert.Equal(("/var/fluent-bit/state", false), mounts[state]);

        var env = Items(container, "env").ToDictionary(e => Scalar(e, "name")!, e => e);
        Assert.Equal("spec.nodeName", Scalar(env["HOST_NAME"], "valueFrom.fieldRef.fieldPath"));
        Assert.Equal("my-cluster", Scalar(env["CLUSTER_NAME"], "value"));
        Assert.Equal("us-east-1", Scalar(env["AWS_REGION"], "value"));

        var args = ((YamlSequenceNode)container["args"]).Children.Select(a => a.ToString()).ToList();
        Assert.Equal(["-c", "/fluent-bit/etc/gateway-shipper.conf", "--aggregator", "gw-aggregator.logging.svc:24224"], args);
    }

    [Fact]
    public void Grpc_link_replaces_the_aggregator_flag_with_a_gateway_grpc_output()
    {
        var manifests = Render(new() { ["shipper.protocol"] = "grpc" });
        var args = ((YamlSequenceNode)Container(Single(manifests, "DaemonSet", "gw-shipper"))["args"]).Children.Select(a => a.ToString()).ToList();
        Assert.Equal(["-c", "/fluent-bit/etc/gateway-shipper.conf"], args);
        var shipperConf = Map(Single(manifests, "ConfigMap", "gw-config"), "data")["gateway-shipper.conf"];
        Assert.Contains("Name  gateway_grpc", shipperConf, StringComparison.Ordinal);
        Assert.Contains("Host  gw-aggregator.logging.svc", shipperConf, StringComparison.Ordinal);
        Assert.Contains("Port  24225", shipperConf, StringComparison.Ordinal);
    }

    [Fact]
    public void Buffer_is_an_emptyDir_by_default_and_a_claim_per_pod_when_persistence_is_asked()
    {
        var manifests = Render();
        var deployment = Single(manifests, "Deployment", "gw-aggregator");
        var storage = Items(deployment, "spec.template.spec.volumes").Single(v => Scalar(v, "name") == "storage");
        Assert.Equal("2Gi", Scalar(storage, "emptyDir.sizeLimit"));
        Assert.Equal("/var/fluent-bit/state", Items(Container(deployment), "volumeMounts").Single(m => Scalar(m, "name") == "storage")["mountPath"].ToString());

        manifests = Render(new() { ["aggregator.persistence.enabled"] = true, ["aggregator.persistence.storageClassName"] = "gp3" });
        Assert.DoesNotContain(manifests, m => Scalar(m.Manifest, "kind") == "Deployment");
        var statefulSet = Single(manifests, "StatefulSet", "gw-aggregator");
        Assert.DoesNotContain(Items(statefulSet, "spec.template.spec.volumes"), v => Scalar(v, "name") == "storage");
        var claim = Items(statefulSet, "spec.volumeClaimTemplates").Single();
        Assert.Equal("storage", Scalar(claim, "metadata.name"));
        Assert.Equal("10Gi", Scalar(claim, "spec.resources.requests.storage"));
        Assert.Equal("gp3", Scalar(claim, "spec.storageClassName"));
        Assert.Equal("gw-aggregator-headless", Scalar(statefulSet, "spec.serviceName"));
        Assert.Equal("None", Scalar(Single(manifests, "Service", "gw-aggregator-headless"), "spec.clusterIP"));
        Assert.Equal("StatefulSet", Scalar(Single(manifests, "HorizontalPodAutoscaler", "gw-aggregator"), "spec.scaleTargetRef.kind"));
    }

    [Fact]
    public void Replicas_come_from_the_autoscaler_unless_it_is_turned_off()
    {
        var manifests = Render();
        var hpa = Single(manifests, "HorizontalPodAutoscaler", "gw-aggregator");
        Assert.Equal(("Deployment", "gw-aggregator"), (Scalar(hpa, "spec.scaleTargetRef.kind"), Scalar(hpa, "spec.scaleTargetRef.name")));
        Assert.Equal("cpu", Scalar(Items(hpa, "spec.metrics").Single(), "resource.name"));
        Assert.Null(Node(Single(manifests, "Deployment", "gw-aggregator"), "spec.replicas"));

        manifests = Render(new() { ["aggregator.autoscaling.enabled"] = false });
        Assert.DoesNotContain(manifests, m => Scalar(m.Manifest, "kind") == "HorizontalPodAutoscaler");
        Assert.Equal("2", Scalar(Single(manifests, "Deployment", "gw-aggregator"), "spec.replicas"));
    }

    [Fact]
    public void Notes_tell_the_operator_where_the_services_are()
    {
        var notes = HelmTemplateRenderer.Load(ChartDirectory, Release, Namespace).Render("NOTES.txt");
        Assert.Contains("gw-aggregator.logging.svc", notes, StringComparison.Ordinal);
        Assert.Contains("serviceAccount.roleArn", notes, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", notes, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValuesReference();
}
