using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// Builds filter instances from [FILTER] sections: <c>grep</c>, <c>modify</c>, <c>nest</c>,
/// <c>record_modifier</c>. Everything is validated here, at config load, so a bad option stops startup with its
/// file:line instead of misbehaving on traffic.
/// </summary>
internal static class FilterFactory
{
    public static IReadOnlyList<string> SupportedPlugins { get; } = ["grep", "modify", "nest", "record_modifier"];

    /// <summary>
    /// For <c>AggregatorEngine.FromConfig</c>'s filter factory: builds the filters this folder implements and
    /// returns null for other plugins (e.g. kubernetes), which another factory handles.
    /// </summary>
    public static IFilter? CreateIfSupported(ConfigSection section) => IsSupported(section.PluginName) ? Create(section) : null;

    public static bool IsSupported(string? pluginName) =>
        pluginName is not null && SupportedPlugins.Contains(pluginName.Trim().ToLowerInvariant());

    /// <summary>
    /// Creates the filter. Its name (logs, metrics) is <paramref name="instanceName"/>, else <c>Alias</c>, else
    /// the plugin and where it was configured, e.g. <c>grep (application-log.conf:29)</c>.
    /// </summary>
    /// <exception cref="ConfigException">Unknown plugin or a bad option; carries the location.</exception>
    public static IFilter Create(ConfigSection section, string? instanceName = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        var plugin = section.PluginName?.Trim().ToLowerInvariant();
        if (string.IsNullOrEmpty(plugin))
        {
            throw new ConfigException(section.Location, "[FILTER] has no Name");
        }

        var name = instanceName ?? section.Get("Alias") ?? $"{plugin} ({section.Location})";
        return plugin switch
        {
            "grep" => GrepFilter.Create(section, name),
            "modify" => ModifyFilter.Create(section, name),
            "nest" => NestFilter.Create(section, name),
            "record_modifier" => RecordModifierFilter.Create(section, name),
            _ => throw new ConfigException(
                section.Find("Name")?.Location ?? section.Location,
                $"filter plugin '{section.PluginName}' is not supported here (supported: {string.Join(", ", SupportedPlugins)})"),
        };
    }

    /// <summary>As <see cref="Create"/>, reporting problems as a diagnostic instead of throwing.</summary>
    public static bool TryCreate(ConfigSection section, out IFilter? filter, out ConfigDiagnostic? diagnostic)
    {
        try
        {
            filter = Create(section);
            diagnostic = null;
            return true;
        }
        catch (ConfigException ex)
        {
            filter = null;
            diagnostic = ex.ToDiagnostic();
            return false;
        }
    }
}
