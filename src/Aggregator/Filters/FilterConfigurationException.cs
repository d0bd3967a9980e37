using Gateway.Engine.Config;

namespace Gateway.Aggregator.Filters;

/// <summary>A [FILTER] section that cannot be built; says which option is wrong and where it was written.</summary>
internal sealed class FilterConfigurationException : Exception
{
    public FilterConfigurationException(ConfigLocation location, string message)
        : base($"{location}: {message}")
    {
        Location = location;
        Problem = message;
    }

    public ConfigLocation Location { get; }

    public string Problem { get; }

    public ConfigDiagnostic ToDiagnostic() => new(Location, DiagnosticSeverity.Error, Problem);
}
