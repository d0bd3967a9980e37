using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Inputs.Forward;
using Gateway.Aggregator.Inputs.Grpc;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Hosting;

/// <summary>One <c>[INPUT] Name forward</c> with its parsed options.</summary>
internal sealed record ForwardInputPlan(ConfigSection Section, ForwardInputOptions Options);

/// <summary>One <c>[INPUT] Name gateway_grpc</c> or <c>opentelemetry</c> with its parsed options.</summary>
internal sealed record GrpcInputPlan(ConfigSection Section, GrpcInputOptions Options);

/// <summary>
/// What the aggregator will run, checked before anything starts: the inputs it can serve (forward), each
/// input's and the buffer's values. Everything wrong is collected as file:line diagnostics, so <c>--dry-run</c>
/// and a refused start report the same complete list instead of failing on the first problem.
/// </summary>
internal sealed class PipelinePlan
{
    private PipelinePlan(IReadOnlyList<ForwardInputPlan> forwardInputs, IReadOnlyList<ConfigSection> nodeSections)
    {
        ForwardInputs = forwardInputs;
        NodeSections = nodeSections;
    }

    public IReadOnlyList<ForwardInputPlan> ForwardInputs { get; }

    public IReadOnlyList<GrpcInputPlan> GrpcInputs { get; private init; } = [];

    /// <summary>The node inputs and node-local filters of a whole-system config, which the shipper runs.</summary>
    public IReadOnlyList<ConfigSection> NodeSections { get; }

    /// <param name="config">The loaded config.</param>
    /// <param name="diagnostics">Receives every problem found.</param>
    /// <param name="probeOutputs">
    /// Under <c>--dry-run</c>, build (and dispose) every output to surface its option errors; a normal start
    /// builds them once, in the engine.
    /// </param>
    /// <param name="outputFactory">The output factory the engine will use.</param>
    /// <param name="filterSupported">
    /// Whether the aggregator can run a filter plugin. A <c>[FILTER]</c> it cannot run is an error, because running
    /// the pipeline without it would ship records the user expects to be changed or dropped. Node-local filters
    /// (<see cref="NodePlugins"/>) are not asked: the shipper already ran them.
    /// </param>
    public static PipelinePlan Create(
        ConfigDocument config,
        ICollection<ConfigDiagnostic> diagnostics,
        bool probeOutputs,
        Func<ConfigSection, OutputContext, IOutput> outputFactory,
        Func<string, bool> filterSupported)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(diagnostics);
        ArgumentNullException.ThrowIfNull(outputFactory);

        ArgumentNullException.ThrowIfNull(filterSupported);
        var forwardInputs = new List<ForwardInputPlan>();
        var nodeSections = new List<ConfigSection>();
        var grpcInputs = new List<GrpcInputPlan>();
        foreach (var input in config.OfKind(SectionKind.Input))
        {
            var name = input.PluginName;
            if (name is null)
            {
                // The validator already reports a section without Name.
                continue;
            }

            if (NodePlugins.IsNodeInput(name))
            {
                // One config drives both programs: the shipper runs this input and forwards what it reads here.
                nodeSections.Add(input);
                continue;
            }

            if (GrpcInputOptions.IsGrpcInput(name.Trim()))
            {
                if (GrpcInputOptions.TryFromSection(input, out var grpcOptions, out var grpcDiagnostics))
                {
                    grpcInputs.Add(new GrpcInputPlan(input, grpcOptions!));
                }

                foreach (var diagnostic in grpcDiagnostics)
                {
                    diagnostics.Add(diagnostic);
                }

                continue;
            }

            if (!string.Equals(name.Trim(), "forward", StringComparison.OrdinalIgnoreCase))
            {
                var at = input.Find("Name")!.Location;
                diagnostics.Add(new ConfigDiagnostic(at, DiagnosticSeverity.Error,
                    $"input plugin '{name}' does not run in the aggregator (it accepts 'forward', 'gateway_grpc' and 'opentelemetry'); node inputs such as tail belong in the shipper's config"));
                continue;
            }

            if (ForwardInputOptions.TryFromSection(input, out var options, out var inputDiagnostics))
            {
                forwardInputs.Add(new ForwardInputPlan(input, options!));
            }

            foreach (var diagnostic in inputDiagnostics)
            {
                diagnostics.Add(diagnostic);
            }
        }

        if (forwardInputs.Count == 0 && nodeSections.Count > 0)
        {
            // A whole-system config (node inputs, no forward input): the aggregator listens where the shipper
            // sends by default, Fluent Bit's forward defaults (0.0.0.0:24224).
            var implicitInput = new ConfigSection(SectionKind.Input, "INPUT", nodeSections[0].Location,
                [new ConfigEntry("Name", "forward", nodeSections[0].Location)]);
            forwardInputs.Add(new ForwardInputPlan(implicitInput, ForwardInputOptions.FromSection(implicitInput, "forward.shipper")));
        }

        foreach (var filter in config.OfKind(SectionKind.Filter))
        {
            var name = filter.PluginName;
            if (name is null)
            {
                continue;
            }

            if (NodePlugins.IsNodeFilter(name))
            {
                nodeSections.Add(filter);
            }
            else if (!filterSupported(name))
            {
                diagnostics.Add(new ConfigDiagnostic(filter.Find("Name")?.Location ?? filter.Location, DiagnosticSeverity.Error,
                    $"filter '{name}' is not available in the aggregator yet; remove it or run it in the shipper"));
            }
        }

        CheckBuffer(config, diagnostics);
        if (probeOutputs)
        {
            ProbeOutputs(config, diagnostics, outputFactory);
        }

        return new PipelinePlan(forwardInputs, nodeSections) { GrpcInputs = grpcInputs };
    }

    /// <summary>Fluent Bit's instance names: the Alias, else <c>plugin.N</c> counting instances of that plugin.</summary>
    public static string InstanceName(ConfigSection section, Dictionary<string, int> seen)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(seen);
        if (section.Get("Alias") is { Length: > 0 } alias)
        {
            return alias;
        }

        var plugin = (section.PluginName ?? section.Header).Trim().ToLowerInvariant();
        seen.TryGetValue(plugin, out var index);
        seen[plugin] = index + 1;
        return $"{plugin}.{index}";
    }

    private static void CheckBuffer(ConfigDocument config, ICollection<ConfigDiagnostic> diagnostics)
    {
        ConfigSection? service = null;
        foreach (var section in config.OfKind(SectionKind.Service))
        {
            service = section;
        }

        try
        {
            _ = BufferOptions.FromService(service);
        }
        catch (ConfigException ex)
        {
            diagnostics.Add(ex.ToDiagnostic());
        }
    }

    private static void ProbeOutputs(ConfigDocument config, ICollection<ConfigDiagnostic> diagnostics, Func<ConfigSection, OutputContext, IOutput> outputFactory)
    {
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var section in config.OfKind(SectionKind.Output))
        {
            try
            {
                var output = outputFactory(section, new OutputContext
                {
                    InstanceName = InstanceName(section, seen),
                    LoggerFactory = NullLoggerFactory.Instance,
                    StandardOutput = Stream.Null,
                    ValidationOnly = true,
                });
                output.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
            catch (ConfigException ex)
            {
                diagnostics.Add(ex.ToDiagnostic());
            }
        }
    }
}
