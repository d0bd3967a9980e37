using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gateway.Aggregator.Filters.Kubernetes;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Aggregator.Tests.Fakes.KubernetesApi;
using Gateway.Engine.Config;
using Gateway.Engine.Json;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>A fake API server plus a kubernetes filter pointed at it, and helpers to feed docker-parsed lines.</summary>
internal sealed class KubernetesFilterHarness : IAsyncDisposable
{
    private readonly string _tokenFile;

    private KubernetesFilterHarness(FakeKubernetesApiServer server, KubernetesFilter filter, string tokenFile)
    {
        Server = server;
        Filter = filter;
        _tokenFile = tokenFile;
    }

    public FakeKubernetesApiServer Server { get; }

    public KubernetesFilter Filter { get; }

    public static string ContainersDirectory => Path.Combine(FixturesRoot.Value, "node", "var", "log", "containers");

    public static string PodsDirectory => Path.Combine(FixturesRoot.Value, "pods");

    private static readonly Lazy<string> FixturesRoot = new(() => RepositoryPaths.Fixtures);

    /// <summary>
    /// Starts the server (seeded by <paramref name="seed"/>) and a filter from <paramref name="filterOptions"/>
    /// (lines of <c>Key Value</c>) plus <paramref name="parsersText"/>; waits for the first list to be applied.
    /// </summary>
    public static async Task<KubernetesFilterHarness> StartAsync(
        string filterOptions, Action<FakeKubernetesApiServer>? seed = null, string parsersText = "", TimeProvider? clock = null,
        System.Security.Cryptography.X509Certificates.X509Certificate2? serverCertificate = null)
    {
        var server = await FakeKubernetesApiServer.StartAsync(serverCertificate: serverCertificate);
        seed?.Invoke(server);
        var tokenFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(tokenFile, server.Token + "\n");
        var text = $"""
            {parsersText}
            [FILTER]
                Name            kubernetes
                Match           *
                Kube_URL        {server.Url}
                Kube_Token_File {tokenFile}
            {Indent(filterOptions)}
            """;
        var document = ClassicConfigReader.Parse(text, "kubernetes-test.conf");
        var parsers = ParserRegistry.FromConfig(document);
        Assert.Empty(parsers.Diagnostics);
        var section = document.Sections.Single(s => s.Kind == SectionKind.Filter);
        var filter = KubernetesFilter.Create(section, parsers, NullLoggerFactory.Instance, clock ?? TimeProvider.System);
        var harness = new KubernetesFilterHarness(server, filter, tokenFile);
        await filter.Source.PodsSynced.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => server.ActivePodWatches == 1, "the pod watch to open");
        return harness;
    }

    public static void SeedFixturePods(FakeKubernetesApiServer server)
    {
        foreach (var file in Directory.GetFiles(PodsDirectory, "*.json").Order(StringComparer.Ordinal))
        {
            server.PutPodJson(File.ReadAllText(file));
        }
    }

    public static string FixtureLogFile(string podPrefix) =>
        Directory.GetFiles(ContainersDirectory).Single(f => Path.GetFileName(f).StartsWith(podPrefix, StringComparison.Ordinal));

    /// <summary>The docker json-file lines of a fixture log as the shipper's docker parser makes them: the record
    /// <c>{"log","stream","time"}</c> (Time_Keep On) timestamped from <c>time</c>.</summary>
    public static byte[] DockerEvents(string logFile, out int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        count = 0;
        foreach (var line in File.ReadAllLines(logFile))
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            var time = root.GetProperty("time").GetString()!;
            writer.WriteArrayHeader(2);
            EventWriter.WriteTime(ref writer, ParseDockerTime(time));
            writer.WriteMapHeader(3);
            writer.Write("log");
            writer.Write(root.GetProperty("log").GetString());
            writer.Write("stream");
            writer.Write(root.GetProperty("stream").GetString());
            writer.Write("time");
            writer.Write(time);
            count++;
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Events(params (string Log, string Stream)[] lines)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        foreach (var (log, stream) in lines)
        {
            writer.WriteArrayHeader(2);
            EventWriter.WriteTime(ref writer, new EventTime(1_700_000_000, 0));
            writer.WriteMapHeader(2);
            writer.Write("log");
            writer.Write(log);
            writer.Write("stream");
            writer.Write(stream);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Runs the filter; each output event as <c>seconds.nanos {json}</c>, or null when not touched.</summary>
    public List<string>? Run(string tag, byte[] events, int count)
    {
        var output = new ArrayBufferWriter<byte>();
        var outcome = Filter.Filter(new EventChunk(tag, events, count), output, out var written);
        if (outcome == FilterOutcome.NotTouched)
        {
            Assert.Equal(0, output.WrittenCount);
            return null;
        }

        var lines = Render(output.WrittenMemory);
        Assert.Equal(written, lines.Count);
        return lines;
    }

    public static List<string> Render(ReadOnlyMemory<byte> events)
    {
        var lines = new List<string>();
        var reader = new EventReader(events);
        while (reader.TryRead(out var view))
        {
            var json = new ArrayBufferWriter<byte>();
            FluentJson.WriteValue(view.Record.Span, json);
            lines.Add($"{view.Time.Seconds}.{view.Time.Nanoseconds:D9} {Encoding.UTF8.GetString(json.WrittenSpan)}");
        }

        return lines;
    }

    public static EventTime ParseDockerTime(string value)
    {
        // RFC 3339 with up to 9 fraction digits; DateTimeOffset keeps only 7, so the fraction is read by hand.
        var dot = value.IndexOf('.', StringComparison.Ordinal);
        var seconds = DateTimeOffset.ParseExact(value[..dot] + "Z", "yyyy-MM-dd'T'HH:mm:ssZ", CultureInfo.InvariantCulture).ToUnixTimeSeconds();
        var fraction = value[(dot + 1)..].TrimEnd('Z').PadRight(9, '0');
        return new EventTime((uint)seconds, uint.Parse(fraction, CultureInfo.InvariantCulture));
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"waited 30 s for {what}");
            }

            await Task.Delay(20);
        }
    }

    public static JsonObject Pod(string ns, string name, string node, string uid, string container, string containerId, IDictionary<string, string>? annotations = null)
    {
        var ann = new JsonObject();
        foreach (var (k, v) in annotations ?? new Dictionary<string, string>())
        {
            ann[k] = v;
        }

        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["uid"] = uid,
                ["labels"] = new JsonObject { ["app"] = name },
                ["annotations"] = ann,
            },
            ["spec"] = new JsonObject { ["nodeName"] = node, ["containers"] = new JsonArray(new JsonObject { ["name"] = container, ["image"] = "img:1" }) },
            ["status"] = new JsonObject
            {
                ["podIP"] = "10.0.0.1",
                ["containerStatuses"] = new JsonArray(new JsonObject
                {
                    ["name"] = container,
                    ["image"] = "img:1",
                    ["imageID"] = "docker-pullable://img@sha256:abc",
                    ["containerID"] = "containerd://" + containerId,
                }),
            },
        };
    }

    public static string ContainerId(int n) => n.ToString("x64", CultureInfo.InvariantCulture);

    private static string Indent(string options) =>
        string.Join('\n', options.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => "    " + l.Trim()));

    public async ValueTask DisposeAsync()
    {
        await Filter.DisposeAsync();
        await Server.DisposeAsync();
        File.Delete(_tokenFile);
    }
}
