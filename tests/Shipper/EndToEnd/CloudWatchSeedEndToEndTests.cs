using System.Diagnostics;
using System.Text.Json;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;
using Gateway.Aggregator.Tests.Fakes.KubernetesApi;
using Gateway.Shipper.Tests.Fakes;
using Gateway.Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>
/// The seed deployments end to end with real processes: the shipper runs a seed's node inputs (and the <c>aws</c>
/// filter, against a fake IMDS) on a copy of the fixture node, forwards to the aggregator, which runs the seed's
/// kubernetes filter (against a fake API server serving the fixture pods), its other filters and its CloudWatch
/// outputs (against the CloudWatch Logs fake). Assertions are on what a user sees in CloudWatch: groups, streams
/// named with the shipper's node (the aggregator's own HOST_NAME is different on purpose), and message JSON.
/// </summary>
[Collection(ShipperEndToEndCollection.Name)]
public sealed class CloudWatchSeedEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Cluster = "e2e-cluster";
    private const string AggregatorHost = "aggregator-0";
    private const string PoseFile = "pose-job-x7k2p_ml-pipeline_pose-4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b.log";
    private const string AwsNodeFile = "aws-node-7x9kq_kube-system_aws-node-9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0.log";
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(90);

    private readonly ShipperTestNode _node = new(copyFixtureLogs: true);
    private readonly FakeCloudWatchLogsServer _cloudWatch = new();
    private readonly FakeImdsServer _imds = new FakeImdsServer().WithInstance();
    private readonly DateTime _base = DateTime.UtcNow.AddMinutes(-10);
    private FakeKubernetesApiServer _kubernetes = null!;
    private string _tokenFile = null!;

    public async Task InitializeAsync()
    {
        await _cloudWatch.StartAsync();
        _kubernetes = await FakeKubernetesApiServer.StartAsync();
        foreach (var pod in Directory.GetFiles(Path.Combine(Fixtures.Root, "pods"), "*.json").Order(StringComparer.Ordinal))
        {
            _kubernetes.PutPodJson(await File.ReadAllTextAsync(pod));
        }

        _tokenFile = Path.Combine(_node.Directory, "token");
        await File.WriteAllTextAsync(_tokenFile, _kubernetes.Token + "\n");
        RecentFixtureLogs.Shift(_node.VarLog, _base);

        // The DaemonSet's journal mount; empty on a test machine.
        Directory.CreateDirectory(Path.Combine(_node.VarLog, "journal"));
    }

    public async Task DisposeAsync()
    {
        await _cloudWatch.DisposeAsync();
        await _kubernetes.DisposeAsync();
        await _imds.DisposeAsync();
        _node.Dispose();
    }

    [Fact]
    public async Task Container_insights_lands_application_dataplane_and_host_records_in_their_groups_with_the_node_streams()
    {
        var seed = new SeedDeployment("container-insights", Path.Combine(_node.Directory, "config"));
        seed.Replace("application-log.conf", "Kube_URL            https://kubernetes.default.svc:443",
            $"Kube_URL            {_kubernetes.Url}\n    Kube_Token_File     {_tokenFile}", "the fake API server and its token instead of the in-cluster service account");
        seed.Replace("fluent-bit.conf", "HTTP_Listen               0.0.0.0", "HTTP_Listen               127.0.0.1", "test servers bind loopback only");
        seed.Replace("fluent-bit.conf", "storage.path              /var/fluent-bit/state/flb-storage/",
            $"storage.path              {Path.Combine(_node.Directory, "storage")}", "the aggregator's buffer in the test directory, not /var");
        foreach (var file in new[] { "application-log.conf", "dataplane-log.conf", "host-log.conf" })
        {
            AddEndpoint(seed, file, "Name                cloudwatch_logs\n");
        }

        var forwardPort = FreePort.Next();
        var top = seed.WriteTopFile("gateway-test.conf", TopFile("@INCLUDE fluent-bit.conf", forwardPort),
            "the seed's fluent-bit.conf plus a forward input on 127.0.0.1 instead of the implicit 0.0.0.0:24224");

        var environment = new Dictionary<string, string>
        {
            // The cluster-info ConfigMap and the DaemonSet's env of the Container Insights manifest.
            ["AWS_REGION"] = FakeCloudWatchLogsServer.Region,
            ["CLUSTER_NAME"] = Cluster,
            ["READ_FROM_HEAD"] = "On",
            ["READ_FROM_TAIL"] = "Off",
        };

        await RunAsync(seed, top, forwardPort, environment, async () =>
        {
            var node = ShipperTestNode.NodeName;
            var application = $"/eks/{Cluster}/pipeline";
            var dataplane = $"/aws/containerinsights/{Cluster}/dataplane";
            var host = $"/aws/containerinsights/{Cluster}/host";
            var pose = await WaitForEventsAsync(application, $"{node}-application.var.log.containers.{PoseFile}", 2);
            var awsNode = await WaitForEventsAsync(dataplane, $"{node}-dataplane.tail.var.log.containers.{AwsNodeFile}", 3);
            var dmesg = await WaitForEventsAsync(host, $"{node}.host.dmesg", 2);
            var messages = await WaitForEventsAsync(host, $"{node}.host.messages", 3);
            var secure = await WaitForEventsAsync(host, $"{node}.host.secure", 2);

            // Only pose-job and user-service are annotated fluentbit/enabled; of their lines only pose's two JSON
            // lines have a level. The seed's record_modifier + nest keep kubernetes.{pod_id,host} (Labels Off).
            Assert.Equal([$"{node}-application.var.log.containers.{PoseFile}"], _cloudWatch.StreamNames(application));
            const string PoseKubernetes = "\"kubernetes\":{\"pod_id\":\"7d1e2f3a-9b8c-4d5e-8f70-112233445566\",\"host\":\"ip-10-1-64-21.ap-northeast-2.compute.internal\"}";
            AssertMessages(
                pose,
                $$"""{"time":"{{Iso(0)}}.000000000Z","level":"WARNING","message":"Process is busy. But SIGTERM Occured from main process.","ai_module":"pose","site":"site-a","date":"2025-10-01",{{PoseKubernetes}}}""",
                $$"""{"time":"{{Iso(0)}}.100000000Z","level":"INFO","message":"Received signal: 15. Shutting down gracefully.","ai_module":"pose","site":"site-a","date":"2025-10-01","sync":"sync_001","cam_num":3,{{PoseKubernetes}}}""");
            AssertTimestampsFromTimeKey(pose);

            // Dataplane: the CRI lines (the P, P, F run joined) with the aws filter's az and instance id from the
            // shipper's IMDS. The seed's record_modifier (Match *) removes log, stream and _p from these too.
            Assert.Equal([$"{node}-dataplane.tail.var.log.containers.{AwsNodeFile}"], _cloudWatch.StreamNames(dataplane));
            const string Ec2 = "\"az\":\"us-east-1a\",\"ec2_instance_id\":\"i-0123456789abcdef0\"";
            AssertMessages(
                awsNode,
                $$"""{"time":"{{Iso(0)}}.704659587Z",{{Ec2}}}""",
                $$"""{"time":"{{Iso(0)}}.804659587Z",{{Ec2}}}""",
                $$"""{"time":"{{Iso(1)}}.000000000Z",{{Ec2}}}""");
            AssertTimestampsFromTimeKey(awsNode);

            // Host: dmesg (the line under Key message), syslog fields from the seed's parser, aws metadata; the
            // stream is ${HOST_NAME}.<tag> (this output's prefix ends with a dot).
            Assert.Equal([$"{node}.host.dmesg", $"{node}.host.messages", $"{node}.host.secure"], _cloudWatch.StreamNames(host).Order(StringComparer.Ordinal));
            AssertMessages(
                dmesg,
                $$"""{"message":"[    0.000000] Linux version 5.10.215-203.850.amzn2.x86_64 (mockbuild@ip-10-0-36-7) (gcc10-gcc (GCC) 10.5.0) #1 SMP Tue Apr 23 20:32:19 UTC 2024",{{Ec2}}}""",
                $$"""{"message":"[    2.315112] EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Opts: (null)",{{Ec2}}}""");
            AssertMessages(
                messages,
                $$"""{"host":"ip-10-1-128-166","ident":"kubelet","pid":"3161","message":"I1124 08:19:53.704659    3161 kubelet.go:2140] \"SyncLoop (PLEG): event for pod\"",{{Ec2}}}""",
                $$"""{"host":"ip-10-1-128-166","ident":"containerd","message":"time=\"2026-11-24T08:19:54Z\" level=info msg=\"StartContainer returns successfully\"",{{Ec2}}}""",
                $$"""{"host":"ip-10-1-128-166","ident":"systemd","pid":"1","message":"Started Session 12 of user ec2-user.",{{Ec2}}}""");

            // The syslog time (line n = base + n s) is the event's timestamp.
            Assert.Equal([1000L, 1000L], [messages[1].Timestamp - messages[0].Timestamp, messages[2].Timestamp - messages[1].Timestamp]);
            Assert.Equal(2, secure.Count);
            Assert.StartsWith("""{"host":"ip-10-1-128-166","ident":"sshd","pid":"4410","message":"Accepted publickey""", secure[0].Message, StringComparison.Ordinal);

            // Nothing is named after the aggregator, and nothing else was created.
            Assert.Equal(3, _cloudWatch.PutCalls.Select(c => c.Group).Distinct().Count());
            Assert.DoesNotContain(_cloudWatch.PutCalls, c => c.Stream.Contains(AggregatorHost, StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task Per_app_routing_lands_sample_app_records_in_the_application_group_with_node_and_tag4_streams()
    {
        // The fixture node has no sample-app container: add one (a JSON line and a plain line) and its pod.
        const string Pod = "sample-app-7f9d8c6b5-h4k2m";
        const string ContainerId = "5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d";
        var logName = $"{Pod}_default_sample-app-{ContainerId}";
        var at = Iso(5);
        await File.WriteAllLinesAsync(Path.Combine(_node.VarLog, "containers", logName + ".log"),
        [
            $$"""{"log":"{\"level\":\"info\",\"msg\":\"order created\",\"order_id\":42}\n","stream":"stdout","time":"{{at}}.250000000Z"}""",
            $$"""{"log":"plain text from sample-app\n","stream":"stderr","time":"{{at}}.500000000Z"}""",
        ]);
        _kubernetes.PutPodJson($$$"""
            {"apiVersion":"v1","kind":"Pod",
             "metadata":{"name":"{{{Pod}}}","namespace":"default","uid":"9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d","labels":{"app":"sample-app"},"annotations":{"team":"orders"}},
             "spec":{"nodeName":"{{{ShipperTestNode.NodeName}}}","containers":[{"name":"sample-app","image":"registry.example/sample-app:1.0"}]},
             "status":{"podIP":"10.1.70.9","containerStatuses":[{"name":"sample-app","image":"registry.example/sample-app:1.0",
               "imageID":"registry.example/sample-app@sha256:0123","containerID":"containerd://{{{ContainerId}}}"}]}}
            """);

        var seed = new SeedDeployment("per-app-routing", Path.Combine(_node.Directory, "config"));
        seed.Replace("containers.conf", "Kube_URL            ${MASTER_URL}",
            $"Kube_URL            ${{MASTER_URL}}\n    Kube_Token_File     {_tokenFile}", "the fake API server's token instead of the in-cluster service account", times: 3);
        seed.Replace("fluent-bit.conf", "@INCLUDE kube-systemd.conf\n@INCLUDE host.conf\n", string.Empty,
            "the seed's documented defects: host.conf does not exist, kube-systemd.conf sets Read_From_Head on systemd inputs");
        seed.Replace("fluent-bit.conf", "Parsers_File              parsers.conf", "Parsers_File              parsers-test.conf",
            "the seed's parsers without the malformed syslog-rfc5424 regex (a documented defect; nothing uses it)");
        seed.WriteTopFile("parsers-test.conf", seed.WithoutSection("parsers.conf", "Name                syslog-rfc5424"), "parsers.conf minus syslog-rfc5424");
        seed.Replace("fluent-bit.conf", "storage.path              /var/fluent-bit/state/flb-storage/",
            $"storage.path              {Path.Combine(_node.Directory, "storage")}\n    HTTP_Server               ${{HTTP_SERVER}}\n    HTTP_Listen               127.0.0.1\n    HTTP_Port                 ${{HTTP_PORT}}",
            "the aggregator's buffer in the test directory, and its HTTP server (readiness) on loopback");
        AddEndpoint(seed, "containers.conf", "Name                cloudwatch\n", times: 3);
        var forwardPort = FreePort.Next();
        var top = seed.WriteTopFile("gateway-test.conf", TopFile("@INCLUDE fluent-bit.conf", forwardPort),
            "the seed's fluent-bit.conf plus a forward input on 127.0.0.1 instead of the implicit 0.0.0.0:24224");

        var environment = new Dictionary<string, string>
        {
            ["AWS_REGION"] = FakeCloudWatchLogsServer.Region,
            ["ENVIRONMENT"] = "stg",
            ["NODEGROUP"] = "sample-app",
            ["MASTER_URL"] = _kubernetes.Url,
            ["READ_FROM_HEAD"] = "On",
        };

        await RunAsync(seed, top, forwardPort, environment, async () =>
        {
            // log_stream_name ${HOST_NODE_NAME}_$(tag[4]): the node's name and the tag's fifth part (pod_ns_container-id).
            const string Group = "/eks/stg/sample-app_application";
            var stream = $"{ShipperTestNode.NodeName}_{logName}";
            var events = await WaitForEventsAsync(Group, stream, 2);
            Assert.Equal([stream], _cloudWatch.StreamNames(Group));

            // Parser docker (no Time_Keep) drops time; Merge_Log_Key log_processed; the nest/modify chain moves
            // docker_id to docker.container_id and the rest (minus hash, image, pod_id) to "Kubernetes".
            const string Kubernetes = "\"Kubernetes\":{\"pod_name\":\"sample-app-7f9d8c6b5-h4k2m\",\"namespace_name\":\"default\",\"labels\":{\"app\":\"sample-app\"},\"host\":\"ip-10-1-128-166.ec2.internal\",\"pod_ip\":\"10.1.70.9\",\"container_name\":\"sample-app\"}";
            const string Docker = "\"docker\":{\"container_id\":\"" + ContainerId + "\"}";
            AssertMessages(
                events,
                $$"""{"log":"{\"level\":\"info\",\"msg\":\"order created\",\"order_id\":42}\n","stream":"stdout","log_processed":{"level":"info","msg":"order created","order_id":42},{{Docker}},{{Kubernetes}}}""",
                $$"""{"log":"plain text from sample-app\n","stream":"stderr",{{Docker}},{{Kubernetes}}}""");
            var time = new DateTimeOffset(RecentFixtureLogs.ParseIso(at + ".250000000Z")).ToUnixTimeMilliseconds();
            Assert.Equal([time, time + 250], events.Select(e => e.Timestamp));
            Assert.DoesNotContain(_cloudWatch.PutCalls, c => c.Stream.Contains(AggregatorHost, StringComparison.Ordinal));
        });
    }

    /// <summary>Adds <c>endpoint</c> after an output's Name line (<paramref name="nameLine"/> ends with its newline).</summary>
    private static void AddEndpoint(SeedDeployment seed, string file, string nameLine, int times = 1) =>
        seed.Replace(file, nameLine, $"{nameLine}    endpoint            {{ENDPOINT}}\n", "the CloudWatch Logs fake instead of the regional endpoint", times);

    private static string TopFile(string include, int forwardPort) => $"""
        # Test-only top file: the seed's own files, and where the aggregator listens for the shipper.
        {include}

        [INPUT]
            Name    forward
            Listen  127.0.0.1
            Port    {forwardPort}
        """;

    private async Task RunAsync(SeedDeployment seed, string topFile, int forwardPort, Dictionary<string, string> environment, Func<Task> assertions)
    {
        foreach (var file in Directory.GetFiles(seed.Directory))
        {
            File.WriteAllText(file, File.ReadAllText(file).Replace("{ENDPOINT}", _cloudWatch.Endpoint.ToString(), StringComparison.Ordinal));
        }

        seed.Print(output);
        var httpPort = FreePort.Next();
        var aggregatorEnvironment = new Dictionary<string, string>(environment)
        {
            ["AWS_ACCESS_KEY_ID"] = FakeCloudWatchLogsServer.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = FakeCloudWatchLogsServer.SecretKey,
            ["AWS_SESSION_TOKEN"] = string.Empty,
            ["AWS_PROFILE"] = string.Empty,
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["HTTP_SERVER"] = "On",
            ["HTTP_PORT"] = httpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),

            // The aggregator's own name: a stream named after it would be wrong (records come from the node).
            ["HOST_NAME"] = AggregatorHost,
            ["HOST_NODE_NAME"] = AggregatorHost,
        };
        var shipperEnvironment = new Dictionary<string, string>(environment)
        {
            ["GATEWAY_PATH_ROOT"] = _node.Root,
            ["NODE_NAME"] = ShipperTestNode.NodeName,
            ["HOST_NAME"] = ShipperTestNode.NodeName,
            ["HOST_NODE_NAME"] = ShipperTestNode.NodeName,
            ["HTTP_SERVER"] = "Off",
            ["HTTP_PORT"] = "0",
            ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = _imds.Endpoint.ToString(),

            // A loaded test machine can miss Fluent Bit's 1 s IMDS timeout; a record without az would be a flaky failure.
            ["AWS_METADATA_SERVICE_TIMEOUT"] = "10",
        };

        await using var aggregator = AggregatorProcess.StartWithConfigFile(_node.AggregatorDir, topFile, httpPort, aggregatorEnvironment);
        await aggregator.WaitReadyAsync();
        await using var shipper = ShipperProcess.Start(topFile, $"127.0.0.1:{forwardPort}", shipperEnvironment);
        try
        {
            await assertions();
            Assert.Empty(_cloudWatch.Violations);
            Assert.Equal(0, _kubernetes.UnauthorizedRequests);
        }
        catch (Exception ex) when (ex is Xunit.Sdk.XunitException or TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"{ex.Message}\nshipper log:\n{shipper.Log}\naggregator log:\n{aggregator.Log}\ngroups/streams:\n{Landed()}");
        }
    }

    private string Landed()
    {
        var text = new System.Text.StringBuilder();
        foreach (var call in _cloudWatch.PutCalls.Select(c => (c.Group, c.Stream)).Distinct())
        {
            text.AppendLine($"  {call.Group} :: {call.Stream} ({_cloudWatch.Events(call.Group, call.Stream).Count} events)");
        }

        return text.ToString();
    }

    private async Task<IReadOnlyList<StoredLogEvent>> WaitForEventsAsync(string group, string stream, int count)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < DeliveryTimeout)
        {
            var events = _cloudWatch.Events(group, stream);
            if (events.Count >= count)
            {
                return events;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"{_cloudWatch.Events(group, stream).Count} of {count} events in {group} :: {stream} after {DeliveryTimeout.TotalSeconds} s");
    }

    /// <summary>The shifted fixture time <paramref name="seconds"/> after the base, to the second (the fraction is the fixture's).</summary>
    private string Iso(int seconds) =>
        new DateTime(_base.Ticks - (_base.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc).AddSeconds(seconds)
            .ToString("yyyy-MM-dd'T'HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);

    private static void AssertMessages(IReadOnlyList<StoredLogEvent> events, params string[] expected)
    {
        Assert.Equal(expected.Length, events.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], events[i].Message);
        }
    }

    /// <summary>Each event's CloudWatch timestamp is its record's <c>time</c> (the runtime's), in milliseconds.</summary>
    private static void AssertTimestampsFromTimeKey(IReadOnlyList<StoredLogEvent> events)
    {
        foreach (var e in events)
        {
            using var json = JsonDocument.Parse(e.Message);
            var time = RecentFixtureLogs.ParseIso(json.RootElement.GetProperty("time").GetString()!);
            Assert.Equal(new DateTimeOffset(time).ToUnixTimeMilliseconds(), e.Timestamp);
        }
    }
}
