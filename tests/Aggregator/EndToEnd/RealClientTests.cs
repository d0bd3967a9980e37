using System.Text.Json;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// One real aggregator process with three forward inputs — plain, shared-key handshake, TLS — writing every tag
/// to its own file (out_file format) under a temp directory.
/// </summary>
public sealed class RealClientAggregator : IAsyncLifetime
{
    public const string SharedKey = "e2e-shared-secret";

    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-e2e-clients-").FullName;

    internal AggregatorProcess Aggregator { get; private set; } = null!;

    public int PlainPort { get; } = FreePort.Next();

    public int SharedKeyPort { get; } = FreePort.Next();

    public int TlsPort { get; } = FreePort.Next();

    public string OutputDirectory => Path.Combine(_dir, "out");

    public string CertificateFile { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        var (certificate, key) = TestCertificate.WritePem(_dir);

        // Like Fluent Bit's out_file (Mkdir off), the output writes into an existing directory.
        Directory.CreateDirectory(OutputDirectory);
        CertificateFile = certificate;
        var config = $"""
            [SERVICE]
                Flush        1
                Log_Level    info
                HTTP_Server  On
                HTTP_Listen  127.0.0.1
                HTTP_Port    {FreePort.Next()}

            [INPUT]
                Name         forward
                Alias        plain
                Listen       127.0.0.1
                Port         {PlainPort}

            [INPUT]
                Name          forward
                Alias         secure
                Listen        127.0.0.1
                Port          {SharedKeyPort}
                Shared_Key    {SharedKey}
                Self_Hostname e2e-aggregator

            [INPUT]
                Name          forward
                Alias         tls
                Listen        127.0.0.1
                Port          {TlsPort}
                tls           on
                tls.crt_file  {certificate}
                tls.key_file  {key}

            [OUTPUT]
                Name   file
                Match  *
                Path   {OutputDirectory}
            """;
        var httpPort = int.Parse(config.Split("HTTP_Port")[1].Split('\n')[0].Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Aggregator = AggregatorProcess.Start(_dir, config, httpPort);
        await Aggregator.WaitReadyAsync();
    }

    public async Task DisposeAsync()
    {
        await Aggregator.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

[Collection(EndToEndCollection.Name)]
public sealed class RealClientTests(RealClientAggregator fixture) : IClassFixture<RealClientAggregator>
{
    private const int Count = 50;
    private static readonly TimeSpan LandingTimeout = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("Message")]
    [InlineData("Forward")]
    [InlineData("PackedForward")]
    [InlineData("CompressedPackedForward")]
    public async Task Fluent_org_logger_with_acks_delivers_every_record_intact(string mode)
    {
        var tag = $"e2e.fluent-org.{mode}";
        var run = await ClientScript.NodeAsync("fluent-org-logger.js", "--port", Port(fixture.PlainPort), "--mode", mode, "--count", Count.ToString(System.Globalization.CultureInfo.InvariantCulture), "--tag", tag);
        Assert.True(run.ExitCode == 0, $"client failed: {run}\naggregator log:\n{fixture.Aggregator.Log}");

        var records = await LandedAsync(tag, Count);
        AssertSequence(records, tag, r =>
        {
            Assert.Equal("@fluent-org/logger", r.GetProperty("client").GetString());
            Assert.Equal(mode, r.GetProperty("mode").GetString());
            var seq = r.GetProperty("seq").GetInt32();
            Assert.Equal($"hello {mode} {seq} ünïcødé", r.GetProperty("msg").GetString());
        });
    }

    [Fact]
    public async Task Classic_npm_fluent_logger_with_require_ack_delivers_every_record()
    {
        const string tag = "e2e.fluent-logger";
        var run = await ClientScript.NodeAsync("fluent-logger.js", "--port", Port(fixture.PlainPort), "--count", "20", "--tag", tag);
        Assert.True(run.ExitCode == 0, $"client failed: {run}\naggregator log:\n{fixture.Aggregator.Log}");

        var records = await LandedAsync(tag, 20);
        AssertSequence(records, tag, r =>
        {
            Assert.Equal("fluent-logger", r.GetProperty("client").GetString());
            Assert.Equal($"hello fluent-logger {r.GetProperty("seq").GetInt32()}", r.GetProperty("msg").GetString());
        });
    }

    [Fact]
    public async Task Debian_python3_fluent_logger_delivers_every_record()
    {
        const string tag = "e2e.python";
        var run = await ClientScript.PythonAsync("python-fluent-logger.py", "--port", Port(fixture.PlainPort), "--count", "20", "--tag", tag);
        Assert.True(run.ExitCode == 0, $"client failed: {run}\naggregator log:\n{fixture.Aggregator.Log}");

        // This client has no acks: "sent" means written to the socket, so wait for the records to land.
        var records = await LandedAsync(tag, 20);
        AssertSequence(records, tag, r =>
        {
            Assert.Equal("python3-fluent-logger", r.GetProperty("client").GetString());
            Assert.Equal($"hello python {r.GetProperty("seq").GetInt32()}", r.GetProperty("msg").GetString());
        });

        // nanosecond_precision sends EventTime: the time must survive as sent (now, not 0 or 1970).
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        Assert.All(records, r => Assert.InRange(r.Time, now - 3600, now + 60));
    }

    [Fact]
    public async Task Shared_key_handshake_accepts_the_right_key()
    {
        const string tag = "e2e.shared-key.right";
        var run = await ClientScript.NodeAsync("fluent-org-logger.js", "--port", Port(fixture.SharedKeyPort), "--count", "10", "--tag", tag, "--shared-key", RealClientAggregator.SharedKey, "--hostname", "e2e-client");
        Assert.True(run.ExitCode == 0, $"client failed: {run}\naggregator log:\n{fixture.Aggregator.Log}");
        AssertSequence(await LandedAsync(tag, 10), tag, _ => { });
    }

    [Fact]
    public async Task Shared_key_handshake_refuses_a_wrong_key_and_stores_nothing()
    {
        const string tag = "e2e.shared-key.wrong";
        var run = await ClientScript.NodeAsync("fluent-org-logger.js", "--port", Port(fixture.SharedKeyPort), "--count", "10", "--tag", tag, "--shared-key", "not-the-key", "--hostname", "e2e-client", "--timeout", "10000");
        Assert.True(run.ExitCode != 0, $"a client with the wrong key must fail, but: {run}");

        // The refusal happens at the handshake, before any event is read: nothing of this tag may exist.
        Assert.False(File.Exists(Path.Combine(fixture.OutputDirectory, tag)), "records from a refused client were stored");
        Assert.Contains("e2e-client", fixture.Aggregator.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tls_client_trusting_the_test_certificate_delivers()
    {
        const string tag = "e2e.tls";
        var run = await ClientScript.NodeAsync("fluent-org-logger.js", "--port", Port(fixture.TlsPort), "--mode", "PackedForward", "--count", "10", "--tag", tag, "--tls-ca", fixture.CertificateFile);
        Assert.True(run.ExitCode == 0, $"client failed: {run}\naggregator log:\n{fixture.Aggregator.Log}");
        AssertSequence(await LandedAsync(tag, 10), tag, _ => { });
    }

    private static string Port(int port) => port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private async Task<List<OutFileRecord>> LandedAsync(string tag, int count)
    {
        var all = await OutFileRecords.WaitForAsync(fixture.OutputDirectory, tag, count, LandingTimeout);
        Assert.True(all.Count >= count, $"{all.Count} of {count} records of {tag} landed in {LandingTimeout.TotalSeconds} s\naggregator log:\n{fixture.Aggregator.Log}");
        return all;
    }

    /// <summary>Exactly the records seq 0..n-1, each once, all with the sent tag, each passing <paramref name="check"/>.</summary>
    private static void AssertSequence(List<OutFileRecord> records, string tag, Action<JsonElement> check)
    {
        var seen = new SortedSet<int>();
        foreach (var record in records)
        {
            Assert.Equal(tag, record.Tag);
            var seq = record.Record.GetProperty("seq").GetInt32();
            Assert.True(seen.Add(seq), $"record seq {seq} of {tag} was written twice");
            check(record.Record);
        }

        Assert.Equal(Enumerable.Range(0, records.Count), seen);
    }
}
