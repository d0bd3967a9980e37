using Gateway.Engine.Config;
using Gateway.Engine.Records;
using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Shipper.Tests.Inputs.Tail;

/// <summary>
/// The seed configs' tail sections run against the fixture node's /var/log: the records must be what Fluent Bit
/// sends for the same files (keys in order, values, event times, per-file tags).
/// </summary>
public sealed class TailFixtureTests
{
    private const string Nginx = "/var/log/containers/nginx-5468c5d4d7-n2swr_default_nginx-b90a89309ac90fff2972822c66f11736933000c5aa6376dff0c11a441fa427ee.log";
    private const string Pose = "/var/log/containers/pose-job-x7k2p_ml-pipeline_pose-4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b.log";
    private const string Python = "/var/log/containers/python-app-7cd4ffbdc7-8r2ck_default_python-app-3e1f0c5b7a9d2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f.log";
    private const string UserService = "/var/log/containers/user-service-6b8d9f7c5-qp2rt_default_user-service-8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b.log";
    private const string AwsNode = "/var/log/containers/aws-node-7x9kq_kube-system_aws-node-9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0.log";

    [Fact]
    public async Task ContainerInsightsApplicationTail_ProducesDockerRecordsPerContainer_AndExcludesAwsNode()
    {
        using var root = new TempNodeRoot().WithFixtureLogs();
        var seed = SeedConfig.Load("container-insights/fluent-bit.conf");

        await using var harness = TailHarness.Start(seed.Tail("application.*", root.Root), seed.Context());
        await harness.WaitForCount(7);
        await Task.Delay(300); // nothing more may come (aws-node is excluded)

        var byTag = harness.Events.GroupBy(e => e.Tag).ToDictionary(g => g.Key, g => g.ToList());
        Assert.Equal(4, byTag.Count);
        Assert.DoesNotContain(byTag.Keys, t => t.Contains("aws-node", StringComparison.Ordinal));

        var nginx = Assert.Single(byTag["application" + Nginx.Replace('/', '.')]);
        Assert.Equal(
            """{"log":"10.1.128.166 - - [19/Dec/2019:17:41:12 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"hey/0.0.1\" \"52.95.4.2\"\n","stream":"stdout","time":"2019-12-19T17:41:12.70630778Z"}""",
            nginx.Json);
        Assert.Equal(new EventTime(1576777272, 706307780), nginx.Time);

        var pose = byTag["application" + Pose.Replace('/', '.')];
        Assert.Equal(
            [
                """{"log":"{\"level\": \"INFO\", \"message\": \"Received signal: 15. Shutting down gracefully.\", \"ai_module\": \"pose\", \"site\": \"site-a\", \"date\": \"2025-10-01\", \"sync\": \"sync_001\", \"cam_num\": 3}\n","stream":"stdout","time":"2025-10-01T03:12:45.100000000Z"}""",
                """{"log":"{\"level\": \"WARNING\", \"message\": \"Process is busy. But SIGTERM Occured from main process.\", \"ai_module\": \"pose\", \"site\": \"site-a\", \"date\": \"2025-10-01\"}\n","stream":"stdout","time":"2025-10-01T03:12:45.000000000Z"}""",
                """{"log":"plain text line without level\n","stream":"stderr","time":"2025-10-01T03:12:46.000000000Z"}""",
            ],
            pose.Select(e => e.Json));
        Assert.Equal([new EventTime(1759288365, 100000000), new EventTime(1759288365, 0), new EventTime(1759288366, 0)], pose.Select(e => e.Time));

        var python = byTag["application" + Python.Replace('/', '.')];
        Assert.Equal(
            [
                """{"log":"{\"name\": \"fakenerd\", \"time_ms\": 1577521193704}\n","stream":"stdout","time":"2019-12-28T08:19:53.704659587Z"}""",
                """{"log":"{\"name\": \"fakenerd\", \"time_ms\": 1577521194705}\n","stream":"stdout","time":"2019-12-28T08:19:54.705860842Z"}""",
            ],
            python.Select(e => e.Json));
        Assert.Equal([new EventTime(1577521193, 704659587), new EventTime(1577521194, 705860842)], python.Select(e => e.Time));

        var user = Assert.Single(byTag["application" + UserService.Replace('/', '.')]);
        Assert.Equal(
            """{"log":"{ \"message\": \"A new user signed up!\", \"service\": \"user-service\", \"metadata\": { \"source\": \"mobile\" } }\n","stream":"stdout","time":"2019-12-19T17:41:12.70630778Z"}""",
            user.Json);
    }

    [Fact]
    public async Task ContainerInsightsDataplaneTail_JoinsCriPartialLines_AsFluentBitCriParser()
    {
        using var root = new TempNodeRoot().WithFixtureLogs();
        var seed = SeedConfig.Load("container-insights/fluent-bit.conf");

        await using var harness = TailHarness.Start(seed.Tail("dataplane.tail.*", root.Root), seed.Context());
        await harness.WaitForCount(3);
        await Task.Delay(300);

        var events = harness.Events;
        Assert.All(events, e => Assert.Equal("dataplane.tail" + AwsNode.Replace('/', '.'), e.Tag));

        // The joined record is the first P line's record (time, stream, _p "P") with log = all parts, and the
        // first line's time: Fluent Bit's flb_ml_flush_stream_group keeps the first line's map.
        Assert.Equal(
            [
                """{"time":"2026-11-24T08:19:53.704659587Z","stream":"stdout","_p":"F","log":"{\"level\":\"info\",\"message\":\"request served\",\"status\":200}"}""",
                """{"time":"2026-11-24T08:19:53.804659587Z","stream":"stdout","_p":"P","log":"first part of a very long line that containerd split, second part of it, and the final part."}""",
                """{"time":"2026-11-24T08:19:54.000000000Z","stream":"stderr","_p":"F","log":"panic: something went wrong"}""",
            ],
            events.Select(e => e.Json));
        Assert.Equal(
            [new EventTime(1795508393, 704659587), new EventTime(1795508393, 804659587), new EventTime(1795508394, 0)],
            events.Select(e => e.Time));
    }

    [Fact]
    public async Task HostDmesgTail_UsesKeyMessage_AndTheReadTime()
    {
        using var root = new TempNodeRoot().WithFixtureLogs();
        var seed = SeedConfig.Load("container-insights/fluent-bit.conf");
        var before = EventTime.Now();

        await using var harness = TailHarness.Start(seed.Tail("host.dmesg", root.Root), seed.Context());
        await harness.WaitForCount(2);
        var after = EventTime.Now();

        var events = harness.Events;
        Assert.Equal(
            [
                """{"message":"[    0.000000] Linux version 5.10.215-203.850.amzn2.x86_64 (mockbuild@ip-10-0-36-7) (gcc10-gcc (GCC) 10.5.0) #1 SMP Tue Apr 23 20:32:19 UTC 2024"}""",
                """{"message":"[    2.315112] EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Opts: (null)"}""",
            ],
            events.Select(e => e.Json));
        Assert.All(events, e => Assert.Equal("host.dmesg", e.Tag));
        Assert.All(events, e => Assert.InRange(e.Time.ToUnixNanoseconds(), before.ToUnixNanoseconds(), after.ToUnixNanoseconds()));
    }

    [Fact]
    public void TailWithAnUndefinedParser_IsRejectedNamingTheParserAndLine()
    {
        var seed = SeedConfig.Load("container-insights/fluent-bit.conf");
        var messages = seed.Tail("host.messages", "/nonexistent");
        var diagnostics = new List<ConfigDiagnostic>();

        var input = TailInput.FromSection(messages, new TailInputContext(), diagnostics);

        Assert.Null(input);
        var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Contains("parser 'syslog' is not defined", error.Message, StringComparison.Ordinal);
        Assert.Equal(Fixtures.SeedConfig("container-insights/host-log.conf"), error.Location.File);
        Assert.Equal(messages.Find("Parser")!.Location.Line, error.Location.Line);
    }

    [Fact]
    public async Task HostMessagesAndSecureTails_UseTheConfiguredSyslogParser()
    {
        using var root = new TempNodeRoot().WithFixtureLogs();
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero));
        var seed = SeedConfig.Load("container-insights/fluent-bit.conf", clock);

        await using var messages = TailHarness.Start(seed.Tail("host.messages", root.Root), seed.Context(clock));
        await using var secure = TailHarness.Start(seed.Tail("host.secure", root.Root), seed.Context(clock));
        await messages.WaitForCount(3);
        await secure.WaitForCount(2);

        // Regex groups in order, the time key removed (Time_Keep Off), pid absent where the group did not match,
        // the year taken from the clock (syslog has none).
        Assert.Equal(
            [
                """{"host":"ip-10-1-128-166","ident":"kubelet","pid":"3161","message":"I1124 08:19:53.704659    3161 kubelet.go:2140] \"SyncLoop (PLEG): event for pod\""}""",
                """{"host":"ip-10-1-128-166","ident":"containerd","message":"time=\"2026-11-24T08:19:54Z\" level=info msg=\"StartContainer returns successfully\""}""",
                """{"host":"ip-10-1-128-166","ident":"systemd","pid":"1","message":"Started Session 12 of user ec2-user."}""",
            ],
            messages.Events.Select(e => e.Json));
        Assert.Equal([new EventTime(1795508393, 0), new EventTime(1795508394, 0), new EventTime(1793780395, 0)], messages.Events.Select(e => e.Time));
        Assert.All(messages.Events, e => Assert.Equal("host.messages", e.Tag));
        Assert.Equal(
            """{"host":"ip-10-1-128-166","ident":"sshd","pid":"4410","message":"Accepted publickey for ec2-user from 10.1.0.5 port 52144 ssh2: RSA SHA256:abc"}""",
            secure.Events[0].Json);
    }

    [Fact]
    public async Task FirehoseLiftTail_WithItsDockerParser_DecodesLogAsJson_AndUsesTimeAsEventTime()
    {
        using var root = new TempNodeRoot().WithFixtureLogs();
        var seed = SeedConfig.Load("firehose-lift/fluent-bit.conf");

        await using var harness = TailHarness.Start(seed.Tail("kube.*", root.Root, ("Read_from_Head", "On")), seed.Context());
        await harness.WaitForCount(2);

        var events = harness.Events;
        Assert.All(events, e => Assert.Equal("kube" + Python.Replace('/', '.'), e.Tag));
        // firehose-lift's parsers.conf defines docker with "Decode_Field_As json log": log becomes the map.
        Assert.Equal(
            """{"log":{"name":"fakenerd","time_ms":1577521193704},"stream":"stdout","time":"2019-12-28T08:19:53.704659587Z"}""",
            events[0].Json);
        Assert.Equal(new EventTime(1577521193, 704659587), events[0].Time);
    }

    [Fact]
    public async Task CentralizedTail_ParserDockerWithDockerMode_KeepsCriLinesRawUnderLog()
    {
        using var root = new TempNodeRoot().WithFixtureLogs();
        var seed = SeedConfig.Load("centralized/fluent-bit.conf");

        await using var harness = TailHarness.Start(seed.Tail("kube.*", root.Root, ("Read_from_Head", "On")), seed.Context());
        await harness.WaitForCount(12);

        var aws = harness.Events.Where(e => e.Tag == "kube" + AwsNode.Replace('/', '.')).ToList();
        Assert.Equal(5, aws.Count);
        Assert.Equal("""{"log":"2026-11-24T08:19:54.000000000Z stderr F panic: something went wrong"}""", aws[4].Json);
        var nginx = Assert.Single(harness.Events, e => e.Tag == "kube" + Nginx.Replace('/', '.'));
        Assert.Equal(new EventTime(1576777272, 706307780), nginx.Time);
    }
}
