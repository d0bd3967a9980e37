using Gateway.Engine.Config;

namespace Gateway.Aggregator.Outputs;

/// <summary>
/// Typed, validated access to an output section's keys. Every error names the key, the bad value and its file:line.
/// Keys not claimed by the plugin or the engine are rejected, as Fluent Bit rejects unknown properties.
/// </summary>
internal sealed class OutputOptions
{
    // Properties Fluent Bit accepts on every output instance (handled by the engine, router or network layer).
    private static readonly HashSet<string> EngineKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "name", "match", "match_regex", "alias", "retry_limit", "workers", "log_level", "log_suppress_interval",
        "host", "port", "ipv6", "tls", "storage.total_limit_size", "processors",
    };

    private static readonly string[] EnginePrefixes = ["net.", "tls.", "storage."];

    private readonly ConfigSection _section;
    private readonly HashSet<string> _known;

    public OutputOptions(ConfigSection section, params string[] pluginKeys)
    {
        _section = section;
        _known = new HashSet<string>(pluginKeys, StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Throws for the first key neither the plugin nor the engine knows.</summary>
    public void RejectUnknownKeys(string pluginName)
    {
        foreach (var entry in UnknownEntries())
        {
            throw new ConfigException(entry.Location, $"{pluginName}: unknown configuration property '{entry.Key}'");
        }
    }

    /// <summary>Entries neither the plugin nor the engine knows (for plugins that warn instead of refusing).</summary>
    public IEnumerable<ConfigEntry> UnknownEntries()
    {
        foreach (var entry in _section.Entries)
        {
            if (!_known.Contains(entry.Key) && !EngineKeys.Contains(entry.Key) && !HasEnginePrefix(entry.Key))
            {
                yield return entry;
            }
        }
    }

    public ConfigEntry? Find(string key) => _section.Find(key);

    public string? GetString(string key) => _section.Get(key);

    public string GetString(string key, string fallback) => _section.Get(key) ?? fallback;

    /// <summary>Fluent Bit booleans (on/off, true/false, yes/no).</summary>
    public bool GetBool(string key, bool fallback) => ConfigValues.Bool(_section.Find(key), fallback);

    public static bool? ParseBool(ConfigEntry entry) => ConfigValues.ParseBool(entry.Value);

    public int GetInt(string key, int fallback, int min, int max) => (int)ConfigValues.Integer(_section.Find(key), fallback, min, max);

    /// <summary>A size such as <c>64M</c> or <c>512k</c> (Fluent Bit's units); bad values throw with file:line.</summary>
    public long GetSize(string key, long fallback, long min) => ConfigValues.Size(_section.Find(key), fallback, min);

    /// <summary>A positive duration as Fluent Bit's time options: seconds, or with an s/m/h/d suffix.</summary>
    public TimeSpan GetDuration(string key, TimeSpan fallback)
    {
        var entry = _section.Find(key);
        if (entry is null)
        {
            return fallback;
        }

        var duration = ConfigValues.ParseDuration(entry.Value);
        return duration is { } value && value > TimeSpan.Zero
            ? value
            : throw Invalid(entry, "expected a positive duration such as 30, 30s, 5m or 1h");
    }

    public static ConfigException Invalid(ConfigEntry entry, string expectation) =>
        new(entry.Location, $"invalid value '{entry.Value}' for '{entry.Key}': {expectation}");

    private static bool HasEnginePrefix(string key)
    {
        foreach (var prefix in EnginePrefixes)
        {
            if (key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
