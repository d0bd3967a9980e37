using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Filters.Kubernetes;
using Gateway.Aggregator.Routing;
using Gateway.Aggregator.Tests.Fakes.KubernetesApi;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using Gateway.Shipper.Inputs.Tail;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>
/// A seed config run the way the split system runs it: the shipper's real tail input reads a copy of the fixture
/// node's <c>/var/log</c> with the seed's <c>[INPUT]</c>, and every chunk it produces goes through the aggregator's
/// <see cref="FilterChain"/> built from the seed's own <c>[FILTER]</c> sections (config order, Match as configured,
/// the seed's parsers), the kubernetes filter reading pods from a fake API server that serves the fixture pods.
/// The only change to the seed is where the kubernetes filter finds its API server and token.
/// </summary>
internal sealed class SeedPipeline : IAsyncDisposable
{
    /// <summary>The values the seeds' <c>${VAR}</c>s get in these tests.</summary>
    public static readonly IReadOnlyDictionary<string, string?> SeedEnvironment = new Dictionary<string, string?>(StringComparer.Ordinal)
    {
        ["READ_FROM_HEAD"] = "On",
        ["READ_FROM_TAIL"] = "Off",
        ["HTTP_SERVER"] = "Off",
        ["HTTP_PORT"] = "2020",
        ["AWS_REGION"] = "us-east-1",
        ["CLUSTER_NAME"] = "test",
        ["HOST_NAME"] = "node-1",
    };

    private readonly Dictionary<string, List<string>> _outputByTag;
    private readonly Dictionary<string, int> _inputByTag;
    private readonly FilterChain _chain;
    private readonly string _tokenFile;

    private SeedPipeline(FakeKubernetesApiServer server, FilterChain chain, string tokenFile, Dictionary<string, List<string>> outputByTag, Dictionary<string, int> inputByTag)
    {
        Server = server;
        _chain = chain;
        _tokenFile = tokenFile;
        _outputByTag = outputByTag;
        _inputByTag = inputByTag;
    }

    public FakeKubernetesApiServer Server { get; }

    /// <summary>The tags the tail input produced records for.</summary>
    public IReadOnlyCollection<string> Tags => _inputByTag.Keys;

    public static string SeedFile(string relative) => Path.GetFullPath(Path.Combine(KubernetesFilterHarness.PodsDirectory, "..", "seed-configs", relative));

    public static ConfigDocument Load(string relative) => ClassicConfigReader.Load(SeedFile(relative), SeedEnvironment);

    /// <summary>
    /// Reads the fixture logs with <paramref name="document"/>'s tail input tagged <paramref name="tailTag"/> until
    /// <paramref name="expectedRecords"/> records came, then runs each chunk through <paramref name="filters"/>.
    /// <paramref name="beforeFiltering"/> runs once the kubernetes filter has its first pod list (e.g. to delete a pod).
    /// </summary>
    public static async Task<SeedPipeline> RunAsync(
        ConfigDocument document,
        string tailTag,
        int expectedRecords,
        IEnumerable<ConfigSection> filters,
        TimeProvider? filterClock = null,
        Func<FakeKubernetesApiServer, KubernetesFilter, Task>? beforeFiltering = null)
    {
        var server = await FakeKubernetesApiServer.StartAsync();
        KubernetesFilterHarness.SeedFixturePods(server);
        var tokenFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(tokenFile, server.Token + "\n");

        var parsers = ParserRegistry.FromConfig(document);
        Assert.Empty(parsers.Diagnostics);
        var services = new FilterServices(parsers, NullLoggerFactory.Instance, filterClock ?? TimeProvider.System);
        var built = new List<(TagMatcher?, IFilter)>();
        foreach (var section in filters)
        {
            Assert.Equal(SectionKind.Filter, section.Kind);
            var configured = string.Equals(section.PluginName, "kubernetes", StringComparison.OrdinalIgnoreCase)
                ? PointAtFakeServer(section, server.Url, tokenFile)
                : section;
            built.Add((TagMatcher.FromSection(configured), FilterFactory.Create(configured, services: services)));
        }

        var chain = new FilterChain(built, NullLogger.Instance);
        List<EventChunk> chunks;
        try
        {
            foreach (var (_, filter) in built)
            {
                if (filter is KubernetesFilter kubernetes)
                {
                    await kubernetes.Source.PodsSynced.WaitAsync(TimeSpan.FromSeconds(30));
                    if (beforeFiltering is not null)
                    {
                        await beforeFiltering(server, kubernetes);
                    }
                }
            }

            chunks = await ReadTailAsync(document, parsers, tailTag, expectedRecords);
        }
        catch
        {
            await chain.DisposeFiltersAsync();
            await server.DisposeAsync();
            File.Delete(tokenFile);
            throw;
        }

        var output = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var input = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var chunk in chunks)
        {
            input[chunk.Tag] = input.GetValueOrDefault(chunk.Tag) + chunk.EventCount;
            if (!output.TryGetValue(chunk.Tag, out var lines))
            {
                output[chunk.Tag] = lines = [];
            }

            var result = chain.Apply(chunk, out var owner);
            try
            {
                lines.AddRange(KubernetesFilterHarness.Render(result.Events));
            }
            finally
            {
                owner?.Dispose();
            }
        }

        return new SeedPipeline(server, chain, tokenFile, output, input);
    }

    /// <summary>What came out of the chain for the fixture log of the pod starting with <paramref name="podPrefix"/>.</summary>
    public List<string> Output(string tagPrefix, string podPrefix)
    {
        var tag = TagOf(tagPrefix, podPrefix);
        Assert.True(_outputByTag.TryGetValue(tag, out var lines), $"the tail input produced nothing tagged {tag}");
        return lines;
    }

    /// <summary>How many records the tail input produced for that file.</summary>
    public int InputCount(string tagPrefix, string podPrefix) => _inputByTag.GetValueOrDefault(TagOf(tagPrefix, podPrefix));

    public static string TagOf(string tagPrefix, string podPrefix) =>
        tagPrefix + "var.log.containers." + Path.GetFileName(KubernetesFilterHarness.FixtureLogFile(podPrefix));

    /// <summary>The seed's kubernetes section with <c>Kube_URL</c> replaced by the fake server and its token file added.</summary>
    private static ConfigSection PointAtFakeServer(ConfigSection section, string url, string tokenFile)
    {
        var entries = new List<ConfigEntry>();
        foreach (var entry in section.Entries)
        {
            if (!entry.Key.Equals("Kube_URL", StringComparison.OrdinalIgnoreCase) && !entry.Key.Equals("Kube_Token_File", StringComparison.OrdinalIgnoreCase))
            {
                entries.Add(entry);
            }
        }

        var at = new ConfigLocation("(test: fake API server)", 1);
        entries.Add(new ConfigEntry("Kube_URL", url, at));
        entries.Add(new ConfigEntry("Kube_Token_File", tokenFile, at));
        return new ConfigSection(section.Kind, section.Header, section.Location, entries);
    }

    private static async Task<List<EventChunk>> ReadTailAsync(ConfigDocument document, ParserRegistry parsers, string tailTag, int expectedRecords)
    {
        var root = Path.Combine(Path.GetTempPath(), "gw-seed-" + Guid.NewGuid().ToString("N"));
        var source = Path.GetFullPath(Path.Combine(KubernetesFilterHarness.ContainersDirectory, ".."));
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(root, "var", "log", Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }

        var section = document.OfKind(SectionKind.Input).Single(s => s.PluginName == "tail" && s.Get("Tag") == tailTag);
        var entries = new List<ConfigEntry>(section.Entries) { new(TailInputOptions.PathRootKey, root, new ConfigLocation("(test)", 1)) };
        if (section.Find("Read_from_Head") is null)
        {
            // Seeds without it start at the end of files that already exist (Fluent Bit's default); the fixture
            // lines stand for what the containers write after the shipper started, so read them from the head.
            entries.Add(new ConfigEntry("Read_from_Head", "On", new ConfigLocation("(test)", 2)));
        }
        var diagnostics = new List<ConfigDiagnostic>();
        var input = TailInput.FromSection(
            new ConfigSection(section.Kind, section.Header, section.Location, entries),
            new TailInputContext { Parsers = parsers, NodeName = "ip-10-1-128-166.us-east-2.compute.internal" },
            diagnostics);
        Assert.True(input is not null, "tail input not created: " + string.Join("; ", diagnostics));

        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => input.RunAsync(stop.Token));
        var chunks = new List<EventChunk>();
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var count = 0;
            while (count < expectedRecords)
            {
                var chunk = await input.Chunks.ReadAsync(deadline.Token);
                chunks.Add(chunk.Chunk);
                count += chunk.Chunk.EventCount;
                chunk.Acknowledge();
            }

            Assert.Equal(expectedRecords, count);

            // Nothing more may come (excluded paths stay excluded, no line is read twice).
            await Task.Delay(300);
            Assert.False(input.Chunks.TryRead(out var extra), $"unexpected chunk tagged {extra?.Chunk.Tag}");
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(30));
            await input.DisposeAsync();
            Directory.Delete(root, recursive: true);
        }

        return chunks;
    }

    public async ValueTask DisposeAsync()
    {
        await _chain.DisposeFiltersAsync();
        await Server.DisposeAsync();
        File.Delete(_tokenFile);
    }
}
