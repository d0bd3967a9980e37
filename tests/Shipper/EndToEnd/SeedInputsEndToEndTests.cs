using System.Text.Json;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>
/// The container-insights seed's <c>[INPUT]</c> sections (application tail, dataplane systemd + tail, host dmesg /
/// messages / secure tails) run by the real shipper against a copy of the fixture node's /var/log, shipped to the
/// real aggregator (forward in → file out): the records arrive with Fluent Bit's tags, fields and timestamps.
/// </summary>
[Collection(ShipperEndToEndCollection.Name)]
public sealed class SeedInputsEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private const string NginxTag = "application.var.log.containers.nginx-5468c5d4d7-n2swr_default_nginx-b90a89309ac90fff2972822c66f11736933000c5aa6376dff0c11a441fa427ee.log";
    private const string AwsNodeTag = "dataplane.tail.var.log.containers.aws-node-7x9kq_kube-system_aws-node-9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0.log";
    private readonly ShipperTestNode _node = new(copyFixtureLogs: true);

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Seed_inputs_reach_the_aggregator_with_fluent_bit_tags_fields_and_times()
    {
        var seed = Path.Combine(Fixtures.Root, "seed-configs", "container-insights");
        // No journal on a test machine: systemd reads an empty /var/log/journal (re-rooted by GATEWAY_PATH_ROOT).
        Directory.CreateDirectory(Path.Combine(_node.VarLog, "journal"));
        var inputs = string.Concat(
                ShipperTestNode.InputSections(Path.Combine(seed, "application-log.conf")),
                ShipperTestNode.InputSections(Path.Combine(seed, "dataplane-log.conf")),
                ShipperTestNode.InputSections(Path.Combine(seed, "host-log.conf")))
            .Replace("${READ_FROM_HEAD}", "On", StringComparison.Ordinal)
            .Replace("${READ_FROM_TAIL}", "Off", StringComparison.Ordinal);
        var configPath = _node.WriteShipperConfig(
            $"""
            [SERVICE]
                Flush         1
                Log_Level     info
                Parsers_File  parsers.conf
            {inputs}
            """,
            Path.Combine(seed, "parsers.conf"));

        var forwardPort = FreePort.Next();
        var httpPort = FreePort.Next();
        await using var aggregator = AggregatorProcess.Start(_node.AggregatorDir, _node.AggregatorConfig(forwardPort, httpPort), httpPort);
        await aggregator.WaitReadyAsync();
        await using var shipper = ShipperProcess.Start(configPath, $"127.0.0.1:{forwardPort}", _node.ShipperEnvironment);

        // 16 fixture lines: 7 docker json lines in application.*, CRI 5 lines (3 joined) in dataplane.tail.*,
        // dmesg 2, messages 3, secure 2; aws-node is excluded from application.* by Exclude_Path.
        const int Expected = 7 + 3 + 2 + 3 + 2;
        var records = await OutFileRecords.WaitForAsync(_node.OutDir, Expected, TimeSpan.FromSeconds(60));
        var log = $"shipper log:\n{shipper.Log}\naggregator log:\n{aggregator.Log}";
        foreach (var record in records)
        {
            output.WriteLine($"{record.Tag} {record.Time:F9} {record.Record.GetRawText()}");
        }

        Assert.True(records.Count == Expected, $"{records.Count} records of {Expected}\n{log}");
        Assert.Equal(0, await shipper.TerminateAsync());

        var nginx = Assert.Single(records, r => r.Tag == NginxTag);
        Assert.Equal(UnixSeconds("2019-12-19T17:41:12.70630778Z"), nginx.Time, 5);
        Assert.Equal(
            """{"log":"10.1.128.166 - - [19/Dec/2019:17:41:12 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"hey/0.0.1\" \"52.95.4.2\"\n","stream":"stdout","time":"2019-12-19T17:41:12.70630778Z"}""",
            nginx.Record.GetRawText());

        // CRI: the P, P, F run is one record; the record carries the runtime's time and stream.
        var awsNode = records.Where(r => r.Tag == AwsNodeTag).ToList();
        Assert.Equal(3, awsNode.Count);
        var joined = Assert.Single(awsNode, r => Text(r, "log").StartsWith("first part", StringComparison.Ordinal));
        Assert.Equal("first part of a very long line that containerd split, second part of it, and the final part.", Text(joined, "log"));
        Assert.Equal("stdout", Text(joined, "stream"));
        Assert.Equal(UnixSeconds("2026-11-24T08:19:53.804659587Z"), joined.Time, 5);
        Assert.Equal("2026-11-24T08:19:53.804659587Z", Text(joined, "time"));

        // syslog parser: fields from the regex, the time from the line (year of the clock), no time key left.
        var kubelet = Assert.Single(records, r => r.Tag == "host.messages" && Text(r, "ident") == "kubelet");
        Assert.Equal(
            """{"host":"ip-10-1-128-166","ident":"kubelet","pid":"3161","message":"I1124 08:19:53.704659    3161 kubelet.go:2140] \"SyncLoop (PLEG): event for pod\""}""",
            kubelet.Record.GetRawText());
        Assert.Equal(new DateTimeOffset(DateTime.UtcNow.Year, 11, 24, 8, 19, 53, TimeSpan.Zero).ToUnixTimeSeconds(), kubelet.Time, 3);
        Assert.Equal(2, records.Count(r => r.Tag == "host.secure"));

        // dmesg: the whole line under Key message.
        var dmesg = records.Where(r => r.Tag == "host.dmesg").Select(r => r.Record.GetRawText()).ToList();
        Assert.Contains("""{"message":"[    2.315112] EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Opts: (null)"}""", dmesg);
    }

    private static double UnixSeconds(string iso) =>
        (DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.UnixEpoch).TotalSeconds;

    private static string Text(OutFileRecord record, string key) =>
        record.Record.TryGetProperty(key, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : string.Empty;
}
