using System.Buffers;
using System.Collections.Concurrent;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using k8s;
using k8s.Models;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>
/// <c>[FILTER] Name kubernetes</c>: adds the pod's metadata (the <c>kubernetes</c> map, in Fluent Bit's key order)
/// to each record of a container log tag, merges the <c>log</c> JSON (or annotation/Merge_Parser result) into the
/// record, and honours <c>fluentbit.io/parser*</c> and <c>fluentbit.io/exclude*</c> annotations. Metadata comes from
/// <see cref="KubernetesMetadataSource"/> (one cluster-wide list+watch), never a request per record or chunk.
/// </summary>
internal sealed class KubernetesFilter : IFilter, IAsyncDisposable
{

    /// <summary>How long a chunk of an unknown pod waits for the single GET that looks it up.</summary>
    internal static readonly TimeSpan MissLookupWait = TimeSpan.FromSeconds(5);

    private const int MaxCachedTags = 16_384;

    private static readonly System.Diagnostics.Metrics.Meter s_meter = new("Gateway");
    private static readonly System.Diagnostics.Metrics.Counter<long> s_recordsIn = s_meter.CreateCounter<long>("gateway.kubernetes.records_in", description: "Records seen by kubernetes filters");
    private static readonly System.Diagnostics.Metrics.Counter<long> s_recordsEnriched = s_meter.CreateCounter<long>("gateway.kubernetes.records_enriched", description: "Records given pod metadata");
    private static readonly System.Diagnostics.Metrics.Counter<long> s_recordsExcluded = s_meter.CreateCounter<long>("gateway.kubernetes.records_excluded", description: "Records dropped by fluentbit.io/exclude annotations");
    private static readonly System.Diagnostics.Metrics.Counter<long> s_recordsWithoutMetadata = s_meter.CreateCounter<long>("gateway.kubernetes.records_without_metadata", description: "Records passed on untouched: tag not a container log, or pod unknown");

    private readonly KubernetesFilterOptions _options;
    private readonly ParserRegistry _parsers;
    private readonly KubernetesMetadataSource _source;
    private readonly KubernetesTagParser _tagParser;
    private readonly KubernetesRecordMerger _merger;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, TagState> _tags = new(StringComparer.Ordinal);
    private int _initialWaitOver;

    private KubernetesFilter(string name, KubernetesFilterOptions options, ParserRegistry parsers, KubernetesMetadataSource source, IRecordParser? regexParser, IRecordParser? mergeParser, TimeProvider clock, ILogger logger)
    {
        Name = name;
        _options = options;
        _parsers = parsers;
        _source = source;
        _clock = clock;
        _logger = logger;
        _tagParser = new KubernetesTagParser(options.TagPrefix, regexParser);
        _merger = new KubernetesRecordMerger(options, mergeParser, clock);
    }

    public string Name { get; }

    internal KubernetesFilterOptions Options => _options;

    /// <summary>How long the first chunks wait for the initial pod list before going on without it (once).</summary>
    internal TimeSpan InitialSyncWait { get; set; } = TimeSpan.FromSeconds(10);

    internal KubernetesMetadataSource Source => _source;

    /// <summary>
    /// Builds the filter from its section and starts the list+watch. Throws <see cref="ConfigException"/> for bad
    /// options (unknown Regex_Parser / Merge_Parser, bad values), naming the file and line.
    /// </summary>
    public static KubernetesFilter Create(ConfigSection section, ParserRegistry parsers, ILoggerFactory loggerFactory, TimeProvider clock, string? instanceName = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(parsers);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        ArgumentNullException.ThrowIfNull(clock);
        var name = instanceName ?? section.Get("Alias") ?? "kubernetes";
        var options = KubernetesFilterOptions.FromSection(section);
        var regexParser = RequireParser(section, "Regex_Parser", options.RegexParser, parsers);
        var mergeParser = RequireParser(section, "Merge_Parser", options.MergeParser, parsers);
        if (!Uri.TryCreate(options.KubeUrl, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            var location = section.Find("Kube_URL")?.Location ?? section.Location;
            throw new ConfigException(location, $"Kube_URL '{options.KubeUrl}' is not an http(s) URL");
        }

        var logger = loggerFactory.CreateLogger("Gateway.Aggregator.Filters.Kubernetes." + name);
        if (options.IgnoredKeys.Count > 0)
        {
            KubernetesFilterLog.OptionsReplacedByWatch(logger, name, string.Join(", ", options.IgnoredKeys));
        }

        var token = new KubernetesTokenFileProvider(options.TokenFile, options.TokenTtl, clock, logger, name);
        var config = new KubernetesClientConfiguration
        {
            Host = options.KubeUrl,
            SkipTlsVerify = !options.TlsVerify,
            TokenProvider = token,
        };
        System.Security.Cryptography.X509Certificates.X509Certificate2Collection? authorities = null;
        if (url.Scheme == Uri.UriSchemeHttps && File.Exists(options.CaFile))
        {
            authorities = [];
            authorities.ImportFromPemFile(options.CaFile);
            config.SslCaCerts = authorities;
        }

        var reader = new KubernetesPodReader(url, token, authorities, !options.TlsVerify);
        var source = new KubernetesMetadataSource(name, options, new k8s.Kubernetes(config), reader, clock, logger);
        if (options.PreloadCacheDir is { } dir)
        {
            Preload(source, dir, logger, name);
        }

        source.Start();
        return new KubernetesFilter(name, options, parsers, source, regexParser, mergeParser, clock, logger);
    }

    public FilterOutcome Filter(EventChunk chunk, IBufferWriter<byte> output, out int outputEventCount)
    {
        outputEventCount = 0;
        s_recordsIn.Add(chunk.EventCount);
        var state = GetTagState(chunk.Tag);
        if (state.Tag is null)
        {
            // kube_meta.c: a tag the regex does not match leaves the records alone.
            s_recordsWithoutMetadata.Add(chunk.EventCount);
            return FilterOutcome.NotTouched;
        }

        var meta = Resolve(state, chunk.Tag);
        if (meta.Pod is null)
        {
            s_recordsWithoutMetadata.Add(chunk.EventCount);
            if (!_options.MergeLog && !_options.NamespaceMetadata)
            {
                return FilterOutcome.NotTouched; // nothing would change
            }
        }

        var namespaceMap = _options.NamespaceMetadata ? _source.FindNamespace(state.Tag!.NamespaceName)?.MapMsgpack : null;

        // Enriched records are several times the input (the kubernetes map alone is often larger than the record):
        // ask for the room once instead of letting the output grow, and copy, by doubling.
        var perRecord = (meta.KubernetesMapMsgpack?.Length ?? 0) + (namespaceMap?.Length ?? 0) + 32;
        output.GetSpan((int)Math.Min(int.MaxValue / 2, (2L * chunk.Events.Length) + ((long)chunk.EventCount * perRecord)));
        var writer = new MessagePackWriter(output);
        var reader = new EventReader(chunk.Events);
        var written = 0;
        while (reader.TryRead(out var view))
        {
            if (_merger.Write(ref writer, view, meta, namespaceMap))
            {
                written++;
            }
        }

        writer.Flush();
        outputEventCount = written;
        if (meta.Pod is not null)
        {
            s_recordsEnriched.Add(written);
        }

        if (written < chunk.EventCount)
        {
            s_recordsExcluded.Add(chunk.EventCount - written);
        }

        return FilterOutcome.Modified;
    }

    private TagState GetTagState(string tag)
    {
        if (_tags.TryGetValue(tag, out var state))
        {
            return state;
        }

        if (_tags.Count >= MaxCachedTags)
        {
            _tags.Clear(); // rotated files leave dead tags behind; start over rather than grow without bound
        }

        var info = _tagParser.Parse(tag);
        if (info is null)
        {
            KubernetesFilterLog.TagNotMatched(_logger, Name, tag, _options.TagPrefix);
        }

        return _tags.GetOrAdd(tag, new TagState(info));
    }

    private ContainerMetadata Resolve(TagState state, string tag)
    {
        var info = state.Tag!;
        var pod = _source.Store.Find(info.PodKey);
        if (pod is null)
        {
            pod = ResolveMiss(info);
            if (pod is null)
            {
                var last = Volatile.Read(ref state.LastUnknownWarning);
                if (last == 0 || _clock.GetElapsedTime(last) > _source.MissRetryInterval)
                {
                    Volatile.Write(ref state.LastUnknownWarning, _clock.GetTimestamp());
                    KubernetesFilterLog.PodUnknown(_logger, Name, info.PodKey, tag);
                }

                return ContainerMetadata.UnknownPod;
            }
        }

        var cached = state.Metadata;
        if (cached is not null && ReferenceEquals(cached.Pod, pod))
        {
            return cached;
        }

        var built = ContainerMetadata.Build(pod, info, _options, _parsers);
        foreach (var missing in built.MissingParsers)
        {
            KubernetesFilterLog.AnnotationParserMissing(_logger, Name, missing, pod.Key);
        }

        state.Metadata = built;
        return built;
    }

    private PodMetadata? ResolveMiss(KubernetesTagInfo info)
    {
        // Lines read before the first list completes should not all go out bare: wait for it, bounded. The filter
        // interface is synchronous, as Fluent Bit's filter callback (which blocks on its HTTP request) is.
        // Only the first chunks wait: when the API server is unreachable, later chunks must not each stall.
        if (!_source.PodsSynced.IsCompleted && Volatile.Read(ref _initialWaitOver) == 0)
        {
            if (!_source.PodsSynced.Wait(InitialSyncWait) && Interlocked.Exchange(ref _initialWaitOver, 1) == 0)
            {
                KubernetesFilterLog.InitialSyncTimedOut(_logger, Name, InitialSyncWait);
            }

            if (_source.Store.Find(info.PodKey) is { } synced)
            {
                return synced;
            }
        }

        return _source.FetchMissing(info.NamespaceName, info.PodName, MissLookupWait);
    }

    private static IRecordParser? RequireParser(ConfigSection section, string key, string? name, ParserRegistry parsers)
    {
        if (name is null)
        {
            return null;
        }

        return parsers.Find(name) ?? throw new ConfigException(section.Find(key)!.Location, $"{key} '{name}' is not a defined [PARSER]");
    }

    private static void Preload(KubernetesMetadataSource source, string directory, ILogger logger, string name)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        var pods = new List<V1Pod>();
        foreach (var path in Directory.EnumerateFiles(directory))
        {
            if (!path.EndsWith(".meta", StringComparison.Ordinal) && !path.EndsWith(".json", StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                var pod = KubernetesJson.Deserialize<V1Pod>(File.ReadAllText(path));
                if (pod?.Kind is null or "Pod" && pod?.Metadata?.Name is not null)
                {
                    pods.Add(pod);
                }
            }
            catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException or UnauthorizedAccessException)
            {
                KubernetesFilterLog.PreloadFileInvalid(logger, ex, name, path);
            }
        }

        source.Preload(pods);
        KubernetesFilterLog.Preloaded(logger, name, pods.Count, directory);
    }

    public ValueTask DisposeAsync() => _source.DisposeAsync();

    /// <summary>What one tag resolves to; the metadata is replaced when the pod's cache entry changes.</summary>
    private sealed class TagState
    {
        public TagState(KubernetesTagInfo? tag) => Tag = tag;

        public KubernetesTagInfo? Tag { get; }

        public volatile ContainerMetadata? Metadata;

        public long LastUnknownWarning;
    }
}
