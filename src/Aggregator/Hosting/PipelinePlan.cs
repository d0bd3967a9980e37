using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Inputs.Forward;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Hosting;

/// <summary>One <c>[INPUT] Name forward</c> with its parsed options.</summary>
internal sealed record ForwardInputPlan(ConfigSection Section, ForwardInputOptions Options);

/// <summary>
/// What the aggregator will run, checked before anything starts: the inputs it can serve (forward), each
/// input's and the buffer's values. Everything wrong is collected as file:line diagnostics, so <c>--dry-run</c>
/// and a refused start report the same complete list instead of failing on the first problem.
/// </summary>
internal sealed class PipelinePlan
{
    private PipelinePlan(IReadOnlyList<ForwardInputPlan> forwardInputs) => ForwardInputs = forwardInputs;

    public IReadOnlyList<ForwardInputPlan> ForwardInputs { get; }

    /// <param name="config">The loaded config.</param>
    /// <param name="diagnostics">Receives every problem found.</param>
    /// <param name="probeOutputs">
    /// Under <c>--dry-run</c>, build (and dispose) every output to surface its option errors; a normal start
    /// builds them once, in the engine.
    /// </param>
    /// <param name="outputFactory">The output factory the engine will use.</param>
    /// <param name="filtersAvailable">
    /// False while the aggregator has no filter factory: a <c>[FILTER]</c> is then an error, because running the
    /// pipeline without it would ship records the user expects to be changed or dropped.
    /// </param>
    public static PipelinePlan Create(
        ConfigDocument config,
        ICollection<ConfigDiagnostic> diagnostics,
        bool probeOutputs,
        Func<ConfigSection, OutputContext, IOutput> outputFactory,
        bool filtersAvailable = false)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(diagnostics);
        ArgumentNullException.ThrowIfNull(outputFactory);

        var forwardInputs = new List<ForwardInputPlan>();
        foreach (var input in config.OfKind(SectionKind.Input))
        {
            var name = input.PluginName;
            if (name is null)
            {
                // The validator already reports a section without Name.
                continue;
            }

            if (!string.Equals(name.Trim(), "forward", StringComparison.OrdinalIgnoreCase))
            {
                var at = input.Find("Name")!.Location;
                diagnostics.Add(new ConfigDiagnostic(at, DiagnosticSeverity.Error,
                    $"input plugin '{name}' does not run in the aggregator (it accepts 'forward'); node inputs such as tail belong in the shipper's config"));
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

        if (!filtersAvailable)
        {
            foreach (var filter in config.OfKind(SectionKind.Filter))
            {
                diagnostics.Add(new ConfigDiagnostic(filter.Find("Name")?.Location ?? filter.Location, DiagnosticSeverity.Error,
                    $"filter '{filter.PluginName}' is not available in the aggregator yet; remove it or run it in the shipper"));
            }
        }

        CheckBuffer(config, diagnostics);
        if (probeOutputs)
        {
            ProbeOutputs(config, diagnostics, outputFactory);
        }

        return new PipelinePlan(forwardInputs);
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
