using System.Globalization;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>
/// The centralized seed's <c>Parsers_File /fluent-bit/parsers/parsers.conf</c> is the image's copy of Fluent Bit's
/// <c>conf/parsers.conf</c> (aws-for-fluent-bit copies it there); the fixtures do not ship it, so the two parsers the
/// seed uses (<c>docker</c> for the tail, <c>nginx</c> named by the nginx pod's annotation) are given here exactly as
/// that file defines them.
/// </summary>
internal static class CentralizedSeed
{
    public const string ImageParsersFile = "/fluent-bit/parsers/parsers.conf";

    public const string DockerParser = """
        [PARSER]
            Name         docker
            Format       json
            Time_Key     time
            Time_Format  %Y-%m-%dT%H:%M:%S.%L
            Time_Keep    On
            Decode_Field_As   escaped_utf8   log        do_next
            Decode_Field_As   escaped        log
            Decode_Field_As   escaped        stream
        """;

    public const string StockNginxParser = """
        [PARSER]
            Name   nginx
            Format regex
            Regex ^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\"]*)" "(?<agent>[^\"]*)")?$
            Time_Key time
            Time_Format %d/%b/%Y:%H:%M:%S %z
        """;

    /// <summary>
    /// The seed (loaded from its real file) with <paramref name="parsersText"/> standing in for the image's parsers
    /// file. Loading reports that file missing here, and nothing else.
    /// </summary>
    public static ConfigDocument Load(string parsersText)
    {
        var seed = SeedPipeline.Load("centralized/fluent-bit.conf");
        var problem = Assert.Single(seed.Diagnostics);
        Assert.Contains(ImageParsersFile, problem.Message, StringComparison.Ordinal);

        var parsers = ClassicConfigReader.Parse(parsersText, ImageParsersFile);
        Assert.Empty(parsers.Diagnostics);
        return new ConfigDocument(seed.MainFile, [.. seed.Sections, .. parsers.Sections], []);
    }

    public static IEnumerable<ConfigSection> Filters(ConfigDocument document) => document.OfKind(SectionKind.Filter);
}

public sealed class CentralizedSeedPipelineFixture : IAsyncLifetime
{
    internal SeedPipeline Pipeline { get; private set; } = null!;

    public long ReadFrom { get; private set; }

    public long ReadUntil { get; private set; }

    public async Task InitializeAsync()
    {
        var document = CentralizedSeed.Load(CentralizedSeed.DockerParser + "\n" + CentralizedSeed.StockNginxParser);
        ReadFrom = DateTimeOffset.UtcNow.ToUnixTimeSeconds();

        // Every file under /var/log/containers: nginx 1, pose 3, python 2, user-service 1, aws-node 5 (CRI lines
        // the docker parser cannot read, kept raw).
        Pipeline = await SeedPipeline.RunAsync(document, "kube.*", 12, CentralizedSeed.Filters(document));
        ReadUntil = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
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
/// Acceptance 2, centralized seed: tail with <c>Parser docker</c> and <c>Docker_Mode</c>, then one kubernetes
/// filter (Merge_Log On, <c>Merge_Log_Key data</c>, K8S-Logging.Parser and .Exclude On; Labels, Annotations and
/// Keep_Log at their default On). Expected records are kubernetes.c's pack_map_content: the original keys (the
/// <c>log</c> string kept), the merged map under <c>data</c> when the log parsed into a non-empty map, then
/// <c>kubernetes</c>.
/// </summary>
public sealed class CentralizedSeedPipelineTests(CentralizedSeedPipelineFixture fixture) : IClassFixture<CentralizedSeedPipelineFixture>
{
    private const string Kube = "kube.";

    internal const string NginxKubernetes =
        """{"pod_name":"nginx-5468c5d4d7-n2swr","namespace_name":"default","pod_id":"198f7dd2-2270-11ea-be47-0a5d932f5920","labels":{"app":"nginx","pod-template-hash":"5468c5d4d7"},"annotations":{"fluentbit.io/parser":"nginx","kubernetes.io/psp":"eks.privileged"},"host":"ip-10-1-128-166.us-east-2.compute.internal","pod_ip":"10.1.130.12","container_name":"nginx","docker_id":"b90a89309ac90fff2972822c66f11736933000c5aa6376dff0c11a441fa427ee","container_hash":"nginx@sha256:0e61b143db3110f3b8ae29a67f107d5536b71a7c1f10afb14d4228711fc65a13","container_image":"nginx:1.17-alpine"}""";

    internal const string NginxLine =
        """{"log":"10.1.128.166 - - [19/Dec/2019:17:41:12 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"hey/0.0.1\" \"52.95.4.2\"\n","stream":"stdout","time":"2019-12-19T17:41:12.70630778Z",""";

    private const string UserServiceKubernetes =
        """{"pod_name":"user-service-6b8d9f7c5-qp2rt","namespace_name":"default","pod_id":"4c2d1e0f-9a8b-4c7d-8e6f-5a4b3c2d1e0f","labels":{"app":"user-service","pod-template-hash":"6b8d9f7c5"},"annotations":{"fluentbit/enabled":"true"},"host":"ip-10-1-128-166.us-east-2.compute.internal","pod_ip":"10.1.66.28","container_name":"user-service","docker_id":"8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b","container_hash":"registry.example/user-service@sha256:b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6f7e8d9c0b1a2f3e4d5c6b7a8","container_image":"registry.example/user-service:3.2.1"}""";

    private const string PoseKubernetes =
        """{"pod_name":"pose-job-x7k2p","namespace_name":"ml-pipeline","pod_id":"7d1e2f3a-9b8c-4d5e-8f70-112233445566","labels":{"scaledjob.keda.sh/name":"pose"},"annotations":{"fluentbit/enabled":"true"},"host":"ip-10-1-64-21.ap-northeast-2.compute.internal","pod_ip":"10.1.70.4","container_name":"pose","docker_id":"4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b","container_hash":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/pose@sha256:5d41402abc4b2a76b9719d911017c592ae8b1e6a2f9c0e7b3d4c5a6b7c8d9e0f","container_image":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/pose:2025.10"}""";

    private const string PythonKubernetes =
        """{"pod_name":"python-app-7cd4ffbdc7-8r2ck","namespace_name":"default","pod_id":"2b0c6a1e-5f4d-4c3b-8a29-7e6d5c4b3a21","labels":{"name":"python-app","pod-template-hash":"7cd4ffbdc7"},"annotations":{},"host":"ip-192-168-12-34.ap-northeast-2.compute.internal","pod_ip":"10.1.66.27","container_name":"python-app","docker_id":"3e1f0c5b7a9d2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f","container_hash":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/kubernetes-study@sha256:f0e8d6c4b2a1f9e7d5c3b1a0f8e6d4c2b9a7f5e3d1c0b8a6f4e2d9a7b5c0f1e3","container_image":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/kubernetes-study:latest"}""";

    private const string AwsNodeKubernetes =
        """{"pod_name":"aws-node-7x9kq","namespace_name":"kube-system","pod_id":"6e5f4a3b-2c1d-4e0f-9a8b-7c6d5e4f3a2b","labels":{"k8s-app":"aws-node","controller-revision-hash":"5f7d9c8b6"},"annotations":{},"host":"ip-10-1-128-166.us-east-2.compute.internal","pod_ip":"10.1.66.14","container_name":"aws-node","docker_id":"9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0","container_hash":"602401143452.dkr.ecr.us-east-2.amazonaws.com/amazon-k8s-cni@sha256:0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9","container_image":"602401143452.dkr.ecr.us-east-2.amazonaws.com/amazon-k8s-cni:v1.18.3"}""";

    [Fact]
    public void User_service_json_log_is_merged_under_data_and_the_log_string_is_kept()
    {
        Assert.Equal(
            [
                "1576777272.706307780 " +
                """{"log":"{ \"message\": \"A new user signed up!\", \"service\": \"user-service\", \"metadata\": { \"source\": \"mobile\" } }\n","stream":"stdout","time":"2019-12-19T17:41:12.70630778Z",""" +
                "\"data\":" + """{"message":"A new user signed up!","service":"user-service","metadata":{"source":"mobile"}}""" + "," +
                "\"kubernetes\":" + UserServiceKubernetes + "}",
            ],
            fixture.Pipeline.Output(Kube, "user-service-"));
    }

    [Fact]
    public void Pose_job_json_lines_get_data_and_its_plain_text_line_only_kubernetes()
    {
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
            fixture.Pipeline.Output(Kube, "pose-job-"));
    }

    [Fact]
    public void Python_app_json_log_is_merged_under_data()
    {
        Assert.Equal(
            [
                "1577521193.704659587 " +
                """{"log":"{\"name\": \"fakenerd\", \"time_ms\": 1577521193704}\n","stream":"stdout","time":"2019-12-28T08:19:53.704659587Z","data":{"name":"fakenerd","time_ms":1577521193704},""" +
                "\"kubernetes\":" + PythonKubernetes + "}",
                "1577521194.705860842 " +
                """{"log":"{\"name\": \"fakenerd\", \"time_ms\": 1577521194705}\n","stream":"stdout","time":"2019-12-28T08:19:54.705860842Z","data":{"name":"fakenerd","time_ms":1577521194705},""" +
                "\"kubernetes\":" + PythonKubernetes + "}",
            ],
            fixture.Pipeline.Output(Kube, "python-app-"));
    }

    [Fact]
    public void Nginx_access_line_is_kept_unparsed_because_the_image_nginx_regex_stops_before_the_forwarded_for_field()
    {
        // The pod asks for the nginx parser, which exists, so merge_log_handler uses it and nothing else (no JSON
        // fallback). conf/parsers.conf's nginx regex ends in `)?$`: after the agent field the line goes on with
        // nginx's "$http_x_forwarded_for" ("52.95.4.2"), so it does not match (Onigmo, as Ruby's Regexp, agrees):
        // MERGE_NONE, the record keeps its docker time and gets no data map.
        Assert.Equal(
            ["1576777272.706307780 " + NginxLine + "\"kubernetes\":" + NginxKubernetes + "}"],
            fixture.Pipeline.Output(Kube, "nginx-"));
    }

    [Fact]
    public void Aws_node_cri_lines_the_docker_parser_cannot_read_keep_their_raw_log_and_get_kubernetes()
    {
        var lines = fixture.Pipeline.Output(Kube, "aws-node-");

        // No stream key (the docker parser failed, so the record is just the raw line), no JSON log to merge.
        string[] raw =
        [
            """2026-11-24T08:19:53.704659587Z stdout F {\"level\":\"info\",\"message\":\"request served\",\"status\":200}""",
            "2026-11-24T08:19:53.804659587Z stdout P first part of a very long line that containerd split, ",
            "2026-11-24T08:19:53.804659588Z stdout P second part of it, ",
            "2026-11-24T08:19:53.804659589Z stdout F and the final part.",
            "2026-11-24T08:19:54.000000000Z stderr F panic: something went wrong",
        ];
        Assert.Equal(raw.Select(r => "{\"log\":\"" + r + "\",\"kubernetes\":" + AwsNodeKubernetes + "}"), lines.Select(l => l[(l.IndexOf(' ', StringComparison.Ordinal) + 1)..]));

        // The event time is the read time, as Fluent Bit stamps a line its parser could not read.
        Assert.All(lines, l => Assert.InRange(long.Parse(l[..l.IndexOf('.', StringComparison.Ordinal)], CultureInfo.InvariantCulture), fixture.ReadFrom, fixture.ReadUntil));
    }

    [Fact]
    public async Task Nginx_annotation_parser_parses_the_access_line_into_data_when_the_nginx_regex_allows_the_trailing_field()
    {
        // The same seed with the nginx parser's end anchor dropped (a user's parsers.conf for nginx's default "main"
        // format, whose last field is $http_x_forwarded_for): the annotation parser now matches, its time
        // (19/Dec/2019:17:41:12 +0000) becomes the event time, "time" is not kept, the fields go under data.
        var unanchored = CentralizedSeed.StockNginxParser.Replace("\")?$", "\")?", StringComparison.Ordinal);
        Assert.NotEqual(CentralizedSeed.StockNginxParser, unanchored);
        var document = CentralizedSeed.Load(CentralizedSeed.DockerParser + "\n" + unanchored);
        await using var pipeline = await SeedPipeline.RunAsync(document, "kube.*", 12, CentralizedSeed.Filters(document));

        Assert.Equal(
            [
                "1576777272.000000000 " + NginxLine +
                "\"data\":" + """{"remote":"10.1.128.166","host":"-","user":"-","method":"GET","path":"/","code":"200","size":"612","referer":"-","agent":"hey/0.0.1"},""" +
                "\"kubernetes\":" + NginxKubernetes + "}",
            ],
            pipeline.Output(Kube, "nginx-"));
    }
}
