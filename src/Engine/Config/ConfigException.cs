namespace Gateway.Engine.Config;

/// <summary>A configuration error tied to the file and line that caused it; the message starts with <c>file:line:</c>.</summary>
public sealed class ConfigException : Exception
{
    public ConfigException(ConfigLocation location, string message)
        : base($"{location}: {message}")
    {
        Location = location;
        Reason = message;
    }

    public ConfigLocation Location { get; }

    /// <summary>The message without the location prefix.</summary>
    public string Reason { get; }

    public ConfigDiagnostic ToDiagnostic() => new(Location, DiagnosticSeverity.Error, Reason);
}
