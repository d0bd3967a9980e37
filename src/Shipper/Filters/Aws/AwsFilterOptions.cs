using System.Globalization;
using Gateway.Engine.Config;

namespace Gateway.Shipper.Filters.Aws;

/// <summary>Which EC2 instance metadata service protocol to use (<c>imds_version</c>).</summary>
public enum ImdsVersion
{
    /// <summary>Plain GETs.</summary>
    V1,

    /// <summary>A session token from <c>PUT /latest/api/token</c> on every request (Fluent Bit's default).</summary>
    V2,
}

/// <summary>
/// The options of one <c>[FILTER] Name aws</c> section, with Fluent Bit's <c>filter_aws</c> names and defaults
/// (<c>az</c> and <c>ec2_instance_id</c> on, everything else off, <c>retry_interval_s</c> 300).
/// </summary>
public sealed class AwsFilterOptions
{
    public ImdsVersion ImdsVersion { get; init; } = ImdsVersion.V2;

    public bool AvailabilityZone { get; init; } = true;

    public bool InstanceId { get; init; } = true;

    public bool InstanceType { get; init; }

    public bool PrivateIp { get; init; }

    public bool VpcId { get; init; }

    public bool AmiId { get; init; }

    public bool AccountId { get; init; }

    public bool Hostname { get; init; }

    /// <summary>Add the instance's tags (from the metadata service's <c>tags/instance</c>) as keys.</summary>
    public bool TagsEnabled { get; init; }

    /// <summary>Only these tag keys (empty: all).</summary>
    public IReadOnlyList<string> TagsInclude { get; init; } = [];

    /// <summary>All tag keys but these.</summary>
    public IReadOnlyList<string> TagsExclude { get; init; } = [];

    /// <summary>Least time between two attempts to fetch a metadata value that failed; zero retries on every chunk.</summary>
    public TimeSpan RetryInterval { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>
    /// Reads a section. Errors and warnings go to <paramref name="diagnostics"/> with file:line; returns null when
    /// there is an error.
    /// </summary>
    public static AwsFilterOptions? FromSection(ConfigSection section, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var errors = 0;
        void Error(ConfigLocation location, string message)
        {
            errors++;
            diagnostics.Add(new ConfigDiagnostic(location, DiagnosticSeverity.Error, "[FILTER aws] " + message));
        }

        foreach (var entry in section.Entries)
        {
            if (!IsKnownKey(entry.Key) && !entry.Key.Equals("enable_entity", StringComparison.OrdinalIgnoreCase))
            {
                diagnostics.Add(new ConfigDiagnostic(entry.Location, DiagnosticSeverity.Warning, $"[FILTER aws] unknown aws option '{entry.Key}' is ignored"));
            }
        }

        bool Bool(string key, bool fallback)
        {
            var before = diagnostics.Count;
            var value = ConfigValues.GetBool(section, key, fallback, diagnostics);
            errors += diagnostics.Count - before;
            return value;
        }

        var version = ImdsVersion.V2;
        if (section.Find("imds_version") is { } versionEntry)
        {
            var v = versionEntry.Value.Trim();
            if (v.Equals("v1", StringComparison.OrdinalIgnoreCase))
            {
                version = ImdsVersion.V1;
            }
            else if (!v.Equals("v2", StringComparison.OrdinalIgnoreCase))
            {
                Error(versionEntry.Location, $"imds_version '{versionEntry.Value}' is not valid; valid values are 'v1' and 'v2'");
            }
        }

        var retry = TimeSpan.FromSeconds(300);
        if (section.Find("retry_interval_s") is { } retryEntry)
        {
            if (int.TryParse(retryEntry.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                retry = TimeSpan.FromSeconds(seconds);
            }
            else
            {
                Error(retryEntry.Location, $"retry_interval_s '{retryEntry.Value}' is not a whole number of seconds");
            }
        }

        var include = section.Find("tags_include");
        var exclude = section.Find("tags_exclude");
        if (include is not null && exclude is not null)
        {
            Error(exclude.Location, "tags_include and tags_exclude cannot both be set");
        }

        if (section.Find("enable_entity") is { } entity && ConfigValues.ParseBool(entity.Value) == true)
        {
            Error(entity.Location, "enable_entity (CloudWatch entity keys) is not supported by the shipper yet");
        }

        var options = new AwsFilterOptions
        {
            ImdsVersion = version,
            AvailabilityZone = Bool("az", true),
            InstanceId = Bool("ec2_instance_id", true),
            InstanceType = Bool("ec2_instance_type", false),
            PrivateIp = Bool("private_ip", false),
            VpcId = Bool("vpc_id", false),
            AmiId = Bool("ami_id", false),
            AccountId = Bool("account_id", false),
            Hostname = Bool("hostname", false),
            TagsEnabled = Bool("tags_enabled", false),
            TagsInclude = SplitTags(include?.Value),
            TagsExclude = SplitTags(exclude?.Value),
            RetryInterval = retry,
        };
        return errors == 0 ? options : null;
    }

    /// <summary>Fluent Bit splits on ',' with strtok: empty items vanish, spaces are kept.</summary>
    private static string[] SplitTags(string? value) =>
        value is null ? [] : value.Split(',', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The engine's plugin catalog is the one list of a plugin's keys (common filter keys included).</summary>
    private static bool IsKnownKey(string key) =>
        PluginCatalog.Default.Find(PluginKind.Filter, "aws") is not { } definition || PluginCatalog.AcceptsKey(definition, key);
}
