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

        await RunAsync(seed, top, forwardPort, environment, async _ =>
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

        await RunAsync(seed, top, forwardPort, environment, async _ =>
        {
            // log_stream_name ${HOST_NODE_NAME}_$(tag[4]): the node's name and the tag's fifth part (pod_ns_container-id).
            const string Group = "/eks/stg/sample-app_application";
            var stream = $"{ShipperTestNode.NodeName}_{logName}";
            var events = await WaitForEventsAsync(Group, stream, 2);
            Assert.Equal([stream], _cloudWatch.StreamNames(Group));

            // Parser docker (no Time_Keep) drops time; Merge_Log_Key log_processed; the nest/modify chain moves
            // docker_id to docker.container_id and the rest (minus hash, image, pod_id) to "Kubernetes". The Go
            // plugin (cloudwatch) marshals the record with sorted keys ("K" sorts before lower case).
            const string Kubernetes = "\"Kubernetes\":{\"container_name\":\"sample-app\",\"host\":\"ip-10-1-128-166.ec2.internal\",\"labels\":{\"app\":\"sample-app\"},\"namespace_name\":\"default\",\"pod_ip\":\"10.1.70.9\",\"pod_name\":\"sample-app-7f9d8c6b5-h4k2m\"}";
            const string Docker = "\"docker\":{\"container_id\":\"" + ContainerId + "\"}";
            AssertMessages(
                events,
                $$"""{{{Kubernetes}},{{Docker}},"log":"{\"level\":\"info\",\"msg\":\"order created\",\"order_id\":42}\n","log_processed":{"level":"info","msg":"order created","order_id":42},"stream":"stdout"}""",
                $$"""{{{Kubernetes}},{{Docker}},"log":"plain text from sample-app\n","stream":"stderr"}""");
            var time = new DateTimeOffset(RecentFixtureLogs.ParseIso(at + ".250000000Z")).ToUnixTimeMilliseconds();
            Assert.Equal([time, time + 250], events.Select(e => e.Timestamp));
            Assert.DoesNotContain(_cloudWatch.PutCalls, c => c.Stream.Contains(AggregatorHost, StringComparison.Ordinal));
        });
    }

    [Fact]
    public async Task Centralized_match_all_output_lands_every_container_in_the_fluentbit_group()
    {
        var seed = new SeedDeployment("centralized", Path.Combine(_node.Directory, "config"));
        seed.Replace("fluent-bit.conf", "    Parsers_File /fluent-bit/parsers/parsers.conf\n",
            "    Parsers_File parsers.conf\n    HTTP_Server ${HTTP_SERVER}\n    HTTP_Listen 127.0.0.1\n    HTTP_Port ${HTTP_PORT}\n",
            "the image's parsers file (/fluent-bit/parsers/parsers.conf) is not on a test machine: its docker and nginx parsers are copied next to the config; the aggregator's HTTP server (readiness) on loopback");
        seed.WriteTopFile("parsers.conf", """
            [PARSER]
                Name         docker
                Format       json
                Time_Key     time
                Time_Format  %Y-%m-%dT%H:%M:%S.%L
                Time_Keep    On

            [PARSER]
                Name         nginx
                Format       regex
                Regex        ^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\"]*)" "(?<agent>[^\"]*)")
                Time_Key     time
                Time_Format  %d/%b/%Y:%H:%M:%S %z
            """, "Fluent Bit's stock docker and nginx parsers (conf/parsers.conf), which the image ships");
        seed.Replace("fluent-bit.conf", "Kube_URL            https://kubernetes.default.svc.cluster.local:443",
            $"Kube_URL            {_kubernetes.Url}\n    Kube_Token_File     {_tokenFile}", "the fake API server and its token instead of the in-cluster service account");
        AddEndpoint(seed, "fluent-bit.conf", "    Name cloudwatch\n");
        var forwardPort = FreePort.Next();
        var top = seed.WriteTopFile("gateway-test.conf", TopFile("@INCLUDE fluent-bit.conf", forwardPort),
            "the seed's fluent-bit.conf plus a forward input on 127.0.0.1 instead of the implicit 0.0.0.0:24224");

        // This seed's tail has no Read_from_Head: files found at start are followed from their end, as in Fluent
        // Bit. The fixture lines are therefore written after the shipper follows the (emptied) files.
        var containers = Path.Combine(_node.VarLog, "containers");
        var lines = Directory.GetFiles(containers).ToDictionary(f => f, File.ReadAllBytes);
        foreach (var file in lines.Keys)
        {
            File.WriteAllBytes(file, []);
        }

        await RunAsync(seed, top, forwardPort, new Dictionary<string, string>(), async shipper =>
        {
            var deadline = Stopwatch.StartNew();
            while (CountOccurrences(shipper.Log, "tail tail.0: following") < lines.Count && deadline.Elapsed < DeliveryTimeout)
            {
                await Task.Delay(100);
            }

            foreach (var (file, content) in lines)
            {
                await using var append = new FileStream(file, FileMode.Append, FileAccess.Write);
                await append.WriteAsync(content);
            }

            // Match ** takes every tag; the stream is log_stream_prefix + tag.
            const string Group = "fluentbit-cloudwatch";
            var userService = await WaitForEventsAsync(Group, "fluentbit-kube.var.log.containers.user-service-6b8d9f7c5-qp2rt_default_user-service-8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b.log", 1);
            var nginx = await WaitForEventsAsync(Group, "fluentbit-kube.var.log.containers.nginx-5468c5d4d7-n2swr_default_nginx-b90a89309ac90fff2972822c66f11736933000c5aa6376dff0c11a441fa427ee.log", 1);
            await WaitForEventsAsync(Group, $"fluentbit-kube.var.log.containers.{PoseFile}", 3);
            await WaitForEventsAsync(Group, "fluentbit-kube.var.log.containers.python-app-7cd4ffbdc7-8r2ck_default_python-app-3e1f0c5b7a9d2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f.log", 2);
            Assert.Single(_cloudWatch.PutCalls.Select(c => c.Group).Distinct());

            // Merge_Log_Key data: JSON logs merge under data; nginx's annotation (K8S-Logging.Parser On) parses the
            // access line with the nginx parser, whose time becomes the event's. Labels and annotations are kept;
            // the Go plugin (cloudwatch) writes the keys sorted.
            AssertMessages(
                userService,
                $$$"""{"data":{"message":"A new user signed up!","metadata":{"source":"mobile"},"service":"user-service"},"kubernetes":{"annotations":{"fluentbit/enabled":"true"},"container_hash":"registry.example/user-service@sha256:b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8","container_image":"registry.example/user-service:3.2.1","container_name":"user-service","docker_id":"8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b","host":"ip-10-1-128-166.us-east-2.compute.internal","labels":{"app":"user-service","pod-template-hash":"6b8d9f7c5"},"namespace_name":"default","pod_id":"4c2d1e0f-9a8b-4c7d-8e6f-5a4b3c2d1e0f","pod_ip":"10.1.66.28","pod_name":"user-service-6b8d9f7c5-qp2rt"},"log":"{ \"message\": \"A new user signed up!\", \"service\": \"user-service\", \"metadata\": { \"source\": \"mobile\" } }\n","stream":"stdout","time":"{{{Iso(0)}}}.70630778Z"}""");
            AssertTimestampsFromTimeKey(userService);
            AssertMessages(
                nginx,
                $$$"""{"data":{"agent":"hey/0.0.1","code":"200","host":"-","method":"GET","path":"/","referer":"-","remote":"10.1.128.166","size":"612","user":"-"},"kubernetes":{"annotations":{"fluentbit.io/parser":"nginx","kubernetes.io/psp":"eks.privileged"},"container_hash":"nginx@sha256:0e61b143db3110f3b8ae29a67f107d5536b71a7c1f10afb14d4228711fc65a13","container_image":"nginx:1.17-alpine","container_name":"nginx","docker_id":"b90a89309ac90fff2972822c66f11736933000c5aa6376dff0c11a441fa427ee","host":"ip-10-1-128-166.us-east-2.compute.internal","labels":{"app":"nginx","pod-template-hash":"5468c5d4d7"},"namespace_name":"default","pod_id":"198f7dd2-2270-11ea-be47-0a5d932f5920","pod_ip":"10.1.130.12","pod_name":"nginx-5468c5d4d7-n2swr"},"log":"10.1.128.166 - - [{{{AccessLogTime(0)}}} +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"hey/0.0.1\" \"52.95.4.2\"\n","stream":"stdout","time":"{{{Iso(0)}}}.70630778Z"}""");
            Assert.Equal(new DateTimeOffset(RecentFixtureLogs.ParseIso(Iso(0) + "Z")).ToUnixTimeMilliseconds(), nginx[0].Timestamp);
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

    private async Task RunAsync(SeedDeployment seed, string topFile, int forwardPort, Dictionary<string, string> environment, Func<ShipperProcess, Task> assertions)
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
            await assertions(shipper);
            Assert.Empty(_cloudWatch.Violations);
            Assert.Equal(0, _kubernetes.UnauthorizedRequests);
        }
        catch (Exception ex) when (ex is Xunit.Sdk.XunitException or TimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"{ex.Message}\nshipper log:\n{shipper.Log}\naggregator log:\n{aggregator.Log}\ngroups/streams:\n{Landed()}");
        }
    }

    private static int CountOccurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
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

    private string AccessLogTime(int seconds) =>
        new DateTime(_base.Ticks - (_base.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc).AddSeconds(seconds)
            .ToString("dd'/'MMM'/'yyyy':'HH':'mm':'ss", System.Globalization.CultureInfo.InvariantCulture);

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
