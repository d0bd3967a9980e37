using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Aggregator.Tests.Fakes.Kinesis;
using Gateway.Aggregator.Tests.Fakes.KubernetesApi;
using Gateway.Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>
/// Acceptance 3 of issue 6: the <c>firehose-lift</c> seed, run by the real programs — the shipper tails a copy of the
/// fixture node's /var/log (docker parser, <c>Decode_Field_As json log</c>), the aggregator runs
/// <c>record_modifier Whitelist_key log</c>, <c>nest lift</c> and <c>[OUTPUT] firehose</c> — into the fake Firehose.
/// The delivery stream's S3 object (its records concatenated) is the <c>{"name":"fakenerd",...}</c> JSON lines the
/// seed's author saw in S3.
/// </summary>
/// <remarks>
/// What the test sets, and nothing else: the shipper runs the seed file as is, re-rooted by <c>GATEWAY_PATH_ROOT</c>
/// and pointed at the aggregator by <c>--aggregator</c>. The aggregator runs the seed file with three additions a
/// test must make — a <c>[SERVICE]</c> HTTP server on 127.0.0.1 (readiness), a <c>[INPUT] forward</c> on
/// 127.0.0.1 and a free port (instead of the implicit 0.0.0.0:24224), and <c>endpoint</c> in the <c>[OUTPUT]</c>
/// (the fake) — and the fake's keys in <c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>.
/// </remarks>
[Collection(ShipperEndToEndCollection.Name)]
public sealed partial class FirehoseSeedEndToEndTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string DeliveryStream = "eks-fluent-bit-study";
    private const string PythonAppLog = "python-app-7cd4ffbdc7-8r2ck_default_python-app-3e1f0c5b7a9d2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f.log";
    private readonly ShipperTestNode _node = new(copyFixtureLogs: true);
    private readonly FakeKinesisServer _firehose = new();

    private static string SeedDirectory => Path.Combine(Fixtures.Root, "seed-configs", "firehose-lift");

    public async Task InitializeAsync()
    {
        await _firehose.StartAsync();
        _firehose.CreateDeliveryStream(DeliveryStream);
    }

    public async Task DisposeAsync()
    {
        await _firehose.DisposeAsync();
        _node.Dispose();
    }

    [Fact]
    public async Task Firehose_lift_seed_delivers_the_fakenerd_json_lines_its_author_saw_in_s3()
    {
        var seedText = await File.ReadAllTextAsync(Path.Combine(SeedDirectory, "fluent-bit.conf"));

        await RunSeedAndAssertFakenerdLinesAsync(seedText, seedText);
    }

    /// <summary>
    /// The seed with its filters replaced by <c>kubernetes-variant.conf</c> (kubernetes with Merge_Log, then the same
    /// record_modifier and nest lift): the pod metadata from the fake API server is added and then whitelisted away,
    /// so S3 gets the same lines. The test adds <c>Kube_URL</c> (the fake) and <c>Kube_Token_File</c> to the filter.
    /// </summary>
    [Fact]
    public async Task Firehose_lift_kubernetes_variant_delivers_the_same_fakenerd_json_lines()
    {
        await using var kubernetes = await FakeKubernetesApiServer.StartAsync();
        foreach (var pod in Directory.GetFiles(Path.Combine(Fixtures.Root, "pods"), "*.json").Order(StringComparer.Ordinal))
        {
            kubernetes.PutPodJson(await File.ReadAllTextAsync(pod));
        }

        var tokenFile = Path.Combine(_node.Directory, "token");
        await File.WriteAllTextAsync(tokenFile, kubernetes.Token + "\n");
        var seedText = await File.ReadAllTextAsync(Path.Combine(SeedDirectory, "fluent-bit.conf"));
        var variantFilters = await File.ReadAllTextAsync(Path.Combine(SeedDirectory, "kubernetes-variant.conf"));
        var firstFilter = seedText.IndexOf("[FILTER]", StringComparison.Ordinal);
        var output = seedText.IndexOf("[OUTPUT]", StringComparison.Ordinal);
        var variant = seedText[..firstFilter] + variantFilters.TrimEnd() + "\n" + seedText[output..];
        var aggregatorVariant = KubernetesFilterHeader().Replace(variant, $"""
            [FILTER]
                Kube_URL          {kubernetes.Url}
                Kube_Token_File   {tokenFile}
            """ + "\n", 1);

        await RunSeedAndAssertFakenerdLinesAsync(variant, aggregatorVariant);
        Assert.True(kubernetes.PodListRequests > 0, "the aggregator never listed pods");
        Assert.Equal(0, kubernetes.UnauthorizedRequests);
    }

    private async Task RunSeedAndAssertFakenerdLinesAsync(string shipperSeedText, string aggregatorSeedText)
    {
        // The application writes its lines after the shipper started following the (empty) file: the seed's tail has
        // no Read_from_Head, so like Fluent Bit it reads only what is written after it starts.
        var appLog = Path.Combine(_node.VarLog, "containers", PythonAppLog);
        var appLines = await File.ReadAllBytesAsync(appLog);
        await File.WriteAllBytesAsync(appLog, []);

        var forwardPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var aggregatorConfig = AggregatorConfig(aggregatorSeedText, forwardPort, httpPort, _firehose.Endpoint);
        File.Copy(Path.Combine(SeedDirectory, "parsers.conf"), Path.Combine(_node.AggregatorDir, "parsers.conf"));
        await using var aggregator = AggregatorProcess.Start(_node.AggregatorDir, aggregatorConfig, httpPort, new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = FakeKinesisServer.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = FakeKinesisServer.SecretKey,
            ["AWS_SESSION_TOKEN"] = string.Empty,
            ["AWS_PROFILE"] = string.Empty,
            ["AWS_EC2_METADATA_DISABLED"] = "true",
        });
        await aggregator.WaitReadyAsync();

        var shipperConfig = _node.WriteShipperConfig(shipperSeedText, Path.Combine(SeedDirectory, "parsers.conf"));
        await using var shipper = ShipperProcess.Start(shipperConfig, $"127.0.0.1:{forwardPort}", _node.ShipperEnvironment);
        await WaitForAsync(() => shipper.Log.Contains("following", StringComparison.Ordinal) && shipper.Log.Contains(PythonAppLog, StringComparison.Ordinal), "the shipper to follow the python-app log", shipper, aggregator);

        await using (var append = new FileStream(appLog, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
        {
            await append.WriteAsync(appLines);
        }

        await WaitForAsync(() => _firehose.DeliveryStreamRecords(DeliveryStream).Count >= 2, "two records in the delivery stream", shipper, aggregator);

        // What S3 holds: Firehose concatenates the records; each carries Fluent Bit's trailing newline.
        var s3Object = Encoding.UTF8.GetString(_firehose.DeliveredObject(DeliveryStream));
        output.WriteLine(s3Object);
        Assert.Equal(
            "{\"name\":\"fakenerd\",\"time_ms\":1577521193704}\n" +
            "{\"name\":\"fakenerd\",\"time_ms\":1577521194705}\n",
            s3Object);
        Assert.Empty(_firehose.Violations);
        Assert.All(_firehose.Calls, call => Assert.Equal("PutRecordBatch", call.Operation));
        Assert.Equal(0, await shipper.TerminateAsync());
    }

    /// <summary>The seed for the aggregator: HTTP server and a loopback forward input added, the output pointed at the fake.</summary>
    private static string AggregatorConfig(string seedText, int forwardPort, int httpPort, Uri endpoint)
    {
        var text = ServiceHeader().Replace(seedText, $"""
            [SERVICE]
                HTTP_Server       On
                HTTP_Listen       127.0.0.1
                HTTP_Port         {httpPort}
            """ + "\n", 1);
        text = OutputHeader().Replace(text, $"""
            [INPUT]
                Name              forward
                Listen            127.0.0.1
                Port              {forwardPort}
            [OUTPUT]
                endpoint          {endpoint}
            """ + "\n", 1);
        return text;
    }

    private async Task WaitForAsync(Func<bool> condition, string what, ShipperProcess shipper, AggregatorProcess aggregator)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60) || shipper.HasExited || aggregator.HasExited)
            {
                Assert.Fail($"waited {deadline.Elapsed.TotalSeconds:0} s for {what}\nshipper log:\n{shipper.Log}\naggregator log:\n{aggregator.Log}");
            }

            await Task.Delay(100);
        }

        output.WriteLine($"{what}: after {deadline.Elapsed.TotalSeconds:0.0} s");
    }

    [GeneratedRegex(@"^\[SERVICE\]\s*\n", RegexOptions.Multiline)]
    private static partial Regex ServiceHeader();

    [GeneratedRegex(@"^\[OUTPUT\]\s*\n", RegexOptions.Multiline)]
    private static partial Regex OutputHeader();

    [GeneratedRegex(@"^\[FILTER\]\s*\n(?=\s*Name\s+kubernetes)", RegexOptions.Multiline)]
    private static partial Regex KubernetesFilterHeader();
}
