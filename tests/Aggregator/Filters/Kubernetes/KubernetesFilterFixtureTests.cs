namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>
/// The fixture container logs (docker json-file, as the shipper's docker parser makes them) enriched from the
/// fixture pods served by the fake API server, with the seed configs' kubernetes filter options. Expected records
/// are written out in full: key order is Fluent Bit's (original keys, merged log, kubernetes).
/// </summary>
public sealed class KubernetesFilterFixtureTests
{
    private const string Prefix = "application.var.log.containers.";

    // Fluent Bit's conf/parsers.conf nginx regex without its trailing `?$`: the stock one does not match the fixture
    // line, whose last field is nginx's "$http_x_forwarded_for" (CentralizedSeedPipelineTests shows both).
    internal const string NginxParser = """
        [PARSER]
            Name   nginx
            Format regex
            Regex ^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\"]*)" "(?<agent>[^\"]*)")
            Time_Key time
            Time_Format %d/%b/%Y:%H:%M:%S %z
        """;

    // The centralized seed's filter (Merge_Log_Key data, pod-suggested parsers and excludes), with the tail
    // prefix of the application tags.
    private const string CentralizedOptions = """
        Kube_Tag_Prefix     application.var.log.containers.
        Merge_Log           On
        Merge_Log_Key       data
        K8S-Logging.Parser  On
        K8S-Logging.Exclude On
        """;

    // firehose-lift/kubernetes-variant.conf.
    private const string FirehoseVariantOptions = """
        Kube_Tag_Prefix   application.var.log.containers.
        Merge_Log         On
        Keep_Log          Off
        Merge_Log_Key     log
        """;

    private const string NginxKubernetes =
        """{"pod_name":"nginx-5468c5d4d7-n2swr","namespace_name":"default","pod_id":"198f7dd2-2270-11ea-be47-0a5d932f5920","labels":{"app":"nginx","pod-template-hash":"5468c5d4d7"},"annotations":{"fluentbit.io/parser":"nginx","kubernetes.io/psp":"eks.privileged"},"host":"ip-10-1-128-166.us-east-2.compute.internal","pod_ip":"10.1.130.12","container_name":"nginx","docker_id":"b90a89309ac90fff2972822c66f11736933000c5aa6376dff0c11a441fa427ee","container_hash":"nginx@sha256:0e61b143db3110f3b8ae29a67f107d5536b71a7c1f10afb14d4228711fc65a13","container_image":"nginx:1.17-alpine"}""";

    private const string PythonKubernetes =
        """{"pod_name":"python-app-7cd4ffbdc7-8r2ck","namespace_name":"default","pod_id":"2b0c6a1e-5f4d-4c3b-8a29-7e6d5c4b3a21","labels":{"name":"python-app","pod-template-hash":"7cd4ffbdc7"},"annotations":{},"host":"ip-192-168-12-34.ap-northeast-2.compute.internal","pod_ip":"10.1.66.27","container_name":"python-app","docker_id":"3e1f0c5b7a9d2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f","container_hash":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/kubernetes-study@sha256:f0e8d6c4b2a1f9e7d5c3b1a0f8e6d4c2b9a7f5e3d1c0b8a6f4e2d9a7b5c0f1e3","container_image":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/kubernetes-study:latest"}""";

    private const string UserServiceKubernetes =
        """{"pod_name":"user-service-6b8d9f7c5-qp2rt","namespace_name":"default","pod_id":"4c2d1e0f-9a8b-4c7d-8e6f-5a4b3c2d1e0f","labels":{"app":"user-service","pod-template-hash":"6b8d9f7c5"},"annotations":{"fluentbit/enabled":"true"},"host":"ip-10-1-128-166.us-east-2.compute.internal","pod_ip":"10.1.66.28","container_name":"user-service","docker_id":"8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b","container_hash":"registry.example/user-service@sha256:b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8","container_image":"registry.example/user-service:3.2.1"}""";

    private const string PoseKubernetes =
        """{"pod_name":"pose-job-x7k2p","namespace_name":"ml-pipeline","pod_id":"7d1e2f3a-9b8c-4d5e-8f70-112233445566","labels":{"scaledjob.keda.sh/name":"pose"},"annotations":{"fluentbit/enabled":"true"},"host":"ip-10-1-64-21.ap-northeast-2.compute.internal","pod_ip":"10.1.70.4","container_name":"pose","docker_id":"4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b","container_hash":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/pose@sha256:5d41402abc4b2a76b9719d911017c592ae8b1e6a2f9c0e7b3d4c5a6b7c8d9e0f","container_image":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/pose:2025.10"}""";

    [Fact]
    public async Task Centralized_nginx_access_line_is_parsed_by_the_annotated_nginx_parser_under_data()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(CentralizedOptions, KubernetesFilterHarness.SeedFixturePods, NginxParser);

        var lines = RunFixture(h, "nginx-");

        // The parser's time (19/Dec/2019:17:41:12 +0000) becomes the event time; Keep_Log On keeps "log".
        Assert.Equal(
            [
                "1576777272.000000000 " +
                """{"log":"10.1.128.166 - - [19/Dec/2019:17:41:12 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"hey/0.0.1\" \"52.95.4.2\"\n","stream":"stdout","time":"2019-12-19T17:41:12.70630778Z",""" +
                "\"data\":" + """{"remote":"10.1.128.166","host":"-","user":"-","method":"GET","path":"/","code":"200","size":"612","referer":"-","agent":"hey/0.0.1"},""" +
                "\"kubernetes\":" + NginxKubernetes + "}",
            ],
            lines);
        Assert.Equal(0, h.Server.UnauthorizedRequests);
    }

    [Fact]
    public async Task Centralized_json_logs_merge_under_data_and_plain_text_keeps_only_log()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(CentralizedOptions, KubernetesFilterHarness.SeedFixturePods, NginxParser);

        Assert.Equal(
            [
                "1576777272.706307780 " +
                """{"log":"{ \"message\": \"A new user signed up!\", \"service\": \"user-service\", \"metadata\": { \"source\": \"mobile\" } }\n","stream":"stdout","time":"2019-12-19T17:41:12.70630778Z",""" +
                "\"data\":" + """{"message":"A new user signed up!","service":"user-service","metadata":{"source":"mobile"}},""" +
                "\"kubernetes\":" + UserServiceKubernetes + "}",
            ],
            RunFixture(h, "user-service-"));

        Assert.Equal(
            [
                "1759288365.100000000 " +
                """{"log":"{\"level\": \"INFO\", \"message\": \"Received signal: 15. Shutting down gracefully.\", \"ai_module\": \"pose\", \"site\": \"site-a\", \"date\": \"2025-10-01\", \"sync\": \"sync_001\", \"cam_num\": 3}\n","stream":"stdout","time":"2025-10-01T03:12:45.100000000Z",""" +
                "\"data\":" + """{"level":"INFO","message":"Received signal: 15. Shutting down gracefully.","ai_module":"pose","site":"site-a","date":"2025-10-01","sync":"sync_001","cam_num":3},""" +
                "\"kubernetes\":" + PoseKubernetes + "}",
                "1759288365.000000000 " +
                """{"log":"{\"level\": \"WARNING\", \"message\": \"Process is busy. But SIGTERM Occured from main process.\", \"ai_module\": \"pose\", \"site\": \"site-a\", \"date\": \"2025-10-01\"}\n","stream":"stdout","time":"2025-10-01T03:12:45.000000000Z",""" +
                "\"data\":" + """{"level":"WARNING","message":"Process is busy. But SIGTERM Occured from main process.","ai_module":"pose","site":"site-a","date":"2025-10-01"},""" +
                "\"kubernetes\":" + PoseKubernetes + "}",
                "1759288366.000000000 " +
                """{"log":"plain text line without level\n","stream":"stderr","time":"2025-10-01T03:12:46.000000000Z",""" +
                "\"kubernetes\":" + PoseKubernetes + "}",
            ],
            RunFixture(h, "pose-job-"));
    }

    [Fact]
    public async Task Firehose_variant_python_app_replaces_log_with_the_parsed_map()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(FirehoseVariantOptions, KubernetesFilterHarness.SeedFixturePods);

        // Keep_Log Off drops the original "log"; Merge_Log_Key log puts the parsed map back under "log",
        // after the remaining original keys.
        Assert.Equal(
            [
                "1577521193.704659587 " +
                """{"stream":"stdout","time":"2019-12-28T08:19:53.704659587Z","log":{"name":"fakenerd","time_ms":1577521193704},""" +
                "\"kubernetes\":" + PythonKubernetes + "}",
                "1577521194.705860842 " +
                """{"stream":"stdout","time":"2019-12-28T08:19:54.705860842Z","log":{"name":"fakenerd","time_ms":1577521194705},""" +
                "\"kubernetes\":" + PythonKubernetes + "}",
            ],
            RunFixture(h, "python-app-"));
    }

    [Fact]
    public async Task Without_Merge_Log_records_only_gain_the_kubernetes_map()
    {
        await using var h = await KubernetesFilterHarness.StartAsync("Kube_Tag_Prefix application.var.log.containers.\nLabels Off\nAnnotations Off", KubernetesFilterHarness.SeedFixturePods);

        Assert.Equal(
            [
                "1577521193.704659587 " +
                """{"log":"{\"name\": \"fakenerd\", \"time_ms\": 1577521193704}\n","stream":"stdout","time":"2019-12-28T08:19:53.704659587Z",""" +
                "\"kubernetes\":" + """{"pod_name":"python-app-7cd4ffbdc7-8r2ck","namespace_name":"default","pod_id":"2b0c6a1e-5f4d-4c3b-8a29-7e6d5c4b3a21","host":"ip-192-168-12-34.ap-northeast-2.compute.internal","pod_ip":"10.1.66.27","container_name":"python-app","docker_id":"3e1f0c5b7a9d2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f","container_hash":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/kubernetes-study@sha256:f0e8d6c4b2a1f9e7d5c3b1a0f8e6d4c2b9a7f5e3d1c0b8a6f4e2d9a7b5c0f1e3","container_image":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/kubernetes-study:latest"}}""",
            ],
            RunFixture(h, "python-app-").Take(1));
    }

    [Fact]
    public async Task Owner_references_follow_annotations_in_the_api_field_order()
    {
        await using var h = await KubernetesFilterHarness.StartAsync("Kube_Tag_Prefix application.var.log.containers.\nOwner_References On\nLabels Off", KubernetesFilterHarness.SeedFixturePods);

        var line = Assert.Single(RunFixture(h, "nginx-"));
        Assert.Contains(
            "\"annotations\":" + """{"fluentbit.io/parser":"nginx","kubernetes.io/psp":"eks.privileged"},"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"nginx-5468c5d4d7","uid":"5a1c3d2e-2270-11ea-be47-0a5d932f5920","controller":true}],"host":""",
            line,
            StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tags_outside_the_prefix_or_not_naming_a_container_log_pass_untouched()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(CentralizedOptions, KubernetesFilterHarness.SeedFixturePods);
        var events = KubernetesFilterHarness.Events(("hello", "stdout"));

        Assert.Null(h.Run("application.var.log.containers.", events, 1));
        Assert.Null(h.Run("application.var.log.containers.not-a-container-log.txt", events, 1));
        Assert.Null(h.Run("host.var.log.messages", events, 1));
    }

    private static List<string> RunFixture(KubernetesFilterHarness h, string podPrefix)
    {
        var file = KubernetesFilterHarness.FixtureLogFile(podPrefix);
        var events = KubernetesFilterHarness.DockerEvents(file, out var count);
        return h.Run(Prefix + Path.GetFileName(file), events, count) ?? throw new Xunit.Sdk.XunitException("the filter left the records untouched");
    }
}
