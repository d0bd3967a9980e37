namespace Gateway.Engine.Config;

/// <summary>
/// Which plugins of a Fluent Bit config belong to the node (the shipper) when one config drives the split
/// system: inputs that read the node's files and journal, and filters that only the node can answer (its IMDS).
/// Everything else runs at the aggregator, on what the shipper forwarded, as if the inputs were its own.
/// </summary>
public static class NodePlugins
{
    /// <summary>Inputs the shipper runs.</summary>
    public static bool IsNodeInput(string? pluginName) =>
        Is(pluginName, "tail") || Is(pluginName, "systemd");

    /// <summary>Filters the shipper runs before sending (the aggregator skips them: they already ran).</summary>
    public static bool IsNodeFilter(string? pluginName) => Is(pluginName, "aws");

    private static bool Is(string? pluginName, string name) =>
        pluginName is not null && pluginName.Trim().Equals(name, StringComparison.OrdinalIgnoreCase);
}
