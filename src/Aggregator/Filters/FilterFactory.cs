using Gateway.Aggregator.Filters.Kubernetes;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// Builds filter instances from [FILTER] sections: <c>grep</c>, <c>modify</c>, <c>nest</c>,
/// <c>record_modifier</c>. Everything is validated here, at config load, so a bad option stops startup with its
/// file:line instead of misbehaving on traffic.
/// </summary>
internal static class FilterFactory
{
    public static IReadOnlyList<string> SupportedPlugins { get; } = ["grep", "modify", "nest", "record_modifier", "kubernetes", "parser"];

    /// <summary>
    /// For <c>AggregatorEngine.FromConfig</c>'s filter factory: builds the filters this folder implements and
    /// returns null for other plugins (e.g. kubernetes), which another factory handles.
    /// </summary>
    public static IFilter? CreateIfSupported(ConfigSection section) =>
        IsSupported(section.PluginName) && !NeedsServices(section.PluginName) ? Create(section) : null;

    /// <summary>Plugins only the <see cref="FilterServices"/> overloads can build.</summary>
    public static bool NeedsServices(string? pluginName) =>
        string.Equals(pluginName?.Trim(), "kubernetes", StringComparison.OrdinalIgnoreCase) ||
        string.Equals(pluginName?.Trim(), "parser", StringComparison.OrdinalIgnoreCase);

    /// <summary>As <see cref="CreateIfSupported(ConfigSection)"/>, with what filters that parse or log need
    /// (<c>kubernetes</c>: the config's parsers, a logger factory, the clock).</summary>
    public static IFilter? CreateIfSupported(ConfigSection section, FilterServices services) =>
        IsSupported(section.PluginName) ? Create(section, services: services) : null;

    public static bool IsSupported(string? pluginName) =>
        pluginName is not null && SupportedPlugins.Contains(pluginName.Trim().ToLowerInvariant());

    /// <summary>
    /// Creates the filter. Its name (logs, metrics) is <paramref name="instanceName"/>, else <c>Alias</c>, else
    /// the plugin and where it was configured, e.g. <c>grep (application-log.conf:29)</c>.
    /// </summary>
    /// <exception cref="ConfigException">Unknown plugin or a bad option; carries the location.</exception>
    public static IFilter Create(ConfigSection section, string? instanceName = null, FilterServices? services = null)
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
            "kubernetes" => services is null
                ? throw new ConfigException(section.Location, "the kubernetes filter needs the configured parsers and a logger factory (FilterServices)")
                : KubernetesFilter.Create(section, services.Parsers, services.LoggerFactory, services.TimeProvider, name),
            "parser" => Parser.ParserFilter.Create(section, services?.Parsers ?? throw new ConfigException(section.Location, "the parser filter needs the configured parsers (FilterServices)"), name),
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

/// <summary>What filters beyond plain record rewriting need: the config's <c>[PARSER]</c>s, logging and the clock.
/// Filters that hold resources (kubernetes: its watch) are <see cref="IAsyncDisposable"/>; the owner disposes them.</summary>
internal sealed record FilterServices(ParserRegistry Parsers, ILoggerFactory LoggerFactory, TimeProvider TimeProvider);
