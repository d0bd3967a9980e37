using Gateway.Engine.Config;

namespace Gateway.Shipper.Pipeline;

/// <summary>
/// Which sections of a Fluent Bit config the shipper runs on the node and which it leaves to the aggregator.
/// The node runs what needs the node: its log inputs (<c>tail</c>, <c>systemd</c>) and node-local filters
/// (<c>aws</c>, which reads this instance's IMDS). Everything else — Kubernetes enrichment, grep/modify/nest,
/// every output but the forward link — runs on the aggregator, which gets the records with their tags unchanged.
/// </summary>
internal sealed class ShipperPlan
{
    /// <summary>Input plugins the shipper runs.</summary>
    public static readonly string[] NodeInputs = ["tail", "systemd"];

    /// <summary>Filter plugins that must run where the record is read, because they describe the node.</summary>
    public static readonly string[] NodeFilters = ["aws"];

    private ShipperPlan(
        IReadOnlyList<ConfigSection> inputs,
        IReadOnlyList<ConfigSection> filters,
        ConfigSection? forwardOutput,
        ConfigSection? grpcOutput,
        IReadOnlyList<ConfigSection> leftToAggregator)
    {
        Inputs = inputs;
        Filters = filters;
        ForwardOutput = forwardOutput;
        GrpcOutput = grpcOutput;
        LeftToAggregator = leftToAggregator;
    }

    public IReadOnlyList<ConfigSection> Inputs { get; }

    public IReadOnlyList<ConfigSection> Filters { get; }

    /// <summary>The first <c>[OUTPUT] Name forward</c>: the classic two-tier link when no <c>--aggregator</c> is given.</summary>
    public ConfigSection? ForwardOutput { get; }

    /// <summary>The first <c>[OUTPUT] Name gateway_grpc</c>: the gRPC link, used when there is no forward output and no <c>--aggregator</c>.</summary>
    public ConfigSection? GrpcOutput { get; }

    /// <summary>Sections the shipper does not run (for the start-up log).</summary>
    public IReadOnlyList<ConfigSection> LeftToAggregator { get; }

    /// <summary>
    /// Sorts the sections. Inputs the shipper cannot run are a warning (the rest still runs), so a config written
    /// for a single-tier Fluent Bit can be deployed as is.
    /// </summary>
    public static ShipperPlan FromConfig(ConfigDocument document, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(document);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var inputs = new List<ConfigSection>();
        var filters = new List<ConfigSection>();
        var left = new List<ConfigSection>();
        ConfigSection? forward = null;
        ConfigSection? grpc = null;
        foreach (var section in document.Sections)
        {
            var plugin = section.PluginName?.Trim().ToLowerInvariant();
            switch (section.Kind)
            {
                case SectionKind.Input when plugin is not null && Array.IndexOf(NodeInputs, plugin) >= 0:
                    inputs.Add(section);
                    break;
                case SectionKind.Input:
                    diagnostics.Add(new ConfigDiagnostic(
                        section.Location,
                        DiagnosticSeverity.Warning,
                        $"[INPUT] {section.PluginName ?? "(no Name)"} is not run on the shipper (it runs {string.Join(", ", NodeInputs)}); run it on the aggregator"));
                    left.Add(section);
                    break;
                case SectionKind.Filter when plugin is not null && Array.IndexOf(NodeFilters, plugin) >= 0:
                    filters.Add(section);
                    break;
                case SectionKind.Output when plugin == "forward" && forward is null:
                    forward = section;
                    break;
                case SectionKind.Output when plugin == "gateway_grpc" && grpc is null:
                    grpc = section;
                    break;
                case SectionKind.Filter:
                case SectionKind.Output:
                    left.Add(section);
                    break;
                default:
                    break;
            }
        }

        return new ShipperPlan(inputs, filters, forward, grpc, left);
    }

    /// <summary>"tail (file:line), aws (file:line)" for logs.</summary>
    public static string Describe(IReadOnlyList<ConfigSection> sections)
    {
        if (sections.Count == 0)
        {
            return "none";
        }

        var parts = new string[sections.Count];
        for (var i = 0; i < sections.Count; i++)
        {
            parts[i] = $"[{sections[i].Header}] {sections[i].PluginName} ({sections[i].Location})";
        }

        return string.Join(", ", parts);
    }
}
