using Gateway.Engine.Config;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>
/// The options of one <c>[FILTER] Name kubernetes</c> section, with Fluent Bit's names and defaults
/// (plugins/filter_kubernetes config map). Bad values throw <see cref="ConfigException"/> naming file and line.
/// </summary>
internal sealed class KubernetesFilterOptions
{
    public const string DefaultKubeUrl = "https://kubernetes.default.svc:443";
    public const string DefaultCaFile = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
    public const string DefaultTokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    public const string DefaultTagPrefix = "kube.var.log.containers.";

    public string KubeUrl { get; init; } = DefaultKubeUrl;

    public string CaFile { get; init; } = DefaultCaFile;

    public string TokenFile { get; init; } = DefaultTokenFile;

    public TimeSpan TokenTtl { get; init; } = TimeSpan.FromSeconds(600);

    public bool TlsVerify { get; init; } = true;

    public string TagPrefix { get; init; } = DefaultTagPrefix;

    public string? RegexParser { get; init; }

    public bool MergeLog { get; init; }

    public string? MergeParser { get; init; }

    public string? MergeLogKey { get; init; }

    public bool MergeLogTrim { get; init; } = true;

    public bool KeepLog { get; init; } = true;

    public bool Labels { get; init; } = true;

    public bool Annotations { get; init; } = true;

    public bool OwnerReferences { get; init; }

    public bool NamespaceLabels { get; init; }

    public bool NamespaceAnnotations { get; init; }

    public bool K8sLoggingParser { get; init; }

    public bool K8sLoggingExclude { get; init; }

    /// <summary>Fluent Bit's cache TTL; with a watch the cache is always current, so it only bounds how long a
    /// pod the API did not know is remembered as unknown before it is asked for again.</summary>
    public TimeSpan MetaCacheTtl { get; init; }

    public string? PreloadCacheDir { get; init; }

    /// <summary>How long a deleted pod's metadata stays usable, so late lines from short-lived pods still get it.</summary>
    public TimeSpan TombstoneTtl { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The options Fluent Bit has for its per-pod requests (Buffer_Size, Use_Kubelet, Kubelet_*) that the
    /// single cluster-wide watch makes meaningless; accepted so existing configs load, and logged once.</summary>
    public IReadOnlyList<string> IgnoredKeys { get; init; } = [];

    public bool NamespaceMetadata => NamespaceLabels || NamespaceAnnotations;

    private static readonly string[] s_replacedByWatch =
    [
        "Buffer_Size", "Use_Kubelet", "Kubelet_Port", "Kubelet_Host", "DNS_Retries", "DNS_Wait_Time",
        "Cache_Use_Docker_Id", "Kube_Meta_Namespace_Cache_TTL", "Kube_CA_Path", "tls.debug", "tls.vhost", "tls.verify_hostname",
    ];

    // Options whose behaviour this filter does not have: refusing them beats silently doing something else.
    private static readonly string[] s_unsupportedWhenOn = ["Use_Journal", "Use_Tag_For_Meta", "Dummy_Meta", "Namespace_Metadata_Only", "Use_Pod_Association"];

    public static KubernetesFilterOptions FromSection(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var ignored = new List<string>();
        foreach (var key in s_replacedByWatch)
        {
            if (section.Find(key) is { } entry)
            {
                ignored.Add(entry.Key);
            }
        }

        foreach (var key in s_unsupportedWhenOn)
        {
            if (section.Find(key) is { } entry && ConfigValues.Bool(entry, false))
            {
                throw new ConfigException(entry.Location, $"{entry.Key} On is not supported by this kubernetes filter (it reads pod names from tail tags and metadata from the API watch)");
            }
        }

        if (section.Find("Kube_Token_Command") is { } command)
        {
            throw new ConfigException(command.Location, "Kube_Token_Command is not supported; use Kube_Token_File (re-read every Kube_Token_TTL)");
        }

        var metaCacheTtl = Duration(section.Find("Kube_Meta_Cache_TTL"), TimeSpan.Zero);
        return new KubernetesFilterOptions
        {
            KubeUrl = NonEmpty(section.Find("Kube_URL"), DefaultKubeUrl),
            CaFile = NonEmpty(section.Find("Kube_CA_File"), DefaultCaFile),
            TokenFile = NonEmpty(section.Find("Kube_Token_File"), DefaultTokenFile),
            TokenTtl = Duration(section.Find("Kube_Token_TTL"), TimeSpan.FromSeconds(600)),
            TlsVerify = ConfigValues.Bool(section.Find("tls.verify"), true),
            TagPrefix = section.Get("Kube_Tag_Prefix") ?? DefaultTagPrefix,
            RegexParser = Optional(section.Find("Regex_Parser")),
            MergeLog = ConfigValues.Bool(section.Find("Merge_Log"), false),
            MergeParser = Optional(section.Find("Merge_Parser")),
            MergeLogKey = Optional(section.Find("Merge_Log_Key")),
            MergeLogTrim = ConfigValues.Bool(section.Find("Merge_Log_Trim"), true),
            KeepLog = ConfigValues.Bool(section.Find("Keep_Log"), true),
            Labels = ConfigValues.Bool(section.Find("Labels"), true),
            Annotations = ConfigValues.Bool(section.Find("Annotations"), true),
            OwnerReferences = ConfigValues.Bool(section.Find("Owner_References"), false),
            NamespaceLabels = ConfigValues.Bool(section.Find("Namespace_Labels"), false),
            NamespaceAnnotations = ConfigValues.Bool(section.Find("Namespace_Annotations"), false),
            K8sLoggingParser = ConfigValues.Bool(section.Find("K8S-Logging.Parser"), false),
            K8sLoggingExclude = ConfigValues.Bool(section.Find("K8S-Logging.Exclude"), false),
            MetaCacheTtl = metaCacheTtl,
            PreloadCacheDir = Optional(section.Find("Kube_Meta_Preload_Cache_Dir")),
            TombstoneTtl = Duration(section.Find("Kube_Meta_Tombstone_TTL"), TimeSpan.FromMinutes(5)),
            IgnoredKeys = ignored,
        };
    }

    private static string NonEmpty(ConfigEntry? entry, string fallback) =>
        entry is null || string.IsNullOrWhiteSpace(entry.Value) ? fallback : entry.Value.Trim();

    private static string? Optional(ConfigEntry? entry) =>
        entry is null || string.IsNullOrWhiteSpace(entry.Value) ? null : entry.Value.Trim();

    private static TimeSpan Duration(ConfigEntry? entry, TimeSpan fallback)
    {
        if (entry is null)
        {
            return fallback;
        }

        return ConfigValues.ParseDuration(entry.Value) is { } value && value >= TimeSpan.Zero
            ? value
            : throw new ConfigException(entry.Location, $"{entry.Key} '{entry.Value}' is not a duration (e.g. 60, 60s, 5m)");
    }
}
