using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Config;
using Gateway.Engine.Hosting;
using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator.Hosting;

/// <summary>
/// The aggregator's <c>Main</c> flow: command line, config load and validation (<c>--dry-run</c> stops there),
/// then the host until SIGTERM. Exit codes: 0 clean stop, 1 config errors or failure, 2 usage error.
/// </summary>
internal static class AggregatorProgram
{
    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        Func<ConfigSection, OutputContext, IOutput> outputFactory,
        TextWriter stdout,
        TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(outputFactory);
        var exit = ProgramEntry.HandleCommandLine(args, GatewayProgram.Aggregator, stdout, stderr, out var options);
        if (exit is not null)
        {
            return exit.Value;
        }

        var configPath = options.ConfigPath!;
        var config = ProgramEntry.LoadConfig(options, stderr, out var diagnostics);
        if (config is null)
        {
            return CommandLine.FailureExitCode;
        }

        var dryRun = options.Mode == CommandLineMode.DryRun;
        var service = ServiceSettings.FromConfig(config, diagnostics);
        var plan = PipelinePlan.Create(config, diagnostics, probeOutputs: dryRun, outputFactory, FilterFactory.IsSupported);
        if (ProgramEntry.StopAfterValidation(options, config, diagnostics, stdout, stderr) is { } stop)
        {
            return stop;
        }

        var settings = new AggregatorHostSettings
        {
            Config = config,
            Service = service,
            ForwardInputs = plan.ForwardInputs,
            GrpcInputs = plan.GrpcInputs,
            Quiet = options.Quiet,
            OtlpEndpoint = Environment.GetEnvironmentVariable(AggregatorTelemetry.OtlpEndpointVariable),
            Version = ProgramEntry.VersionText(),
            OutputFactory = outputFactory,
        };

        await using var app = AggregatorApplication.Build(settings);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Aggregator");
        HostLog.Starting(logger, settings.Version, configPath);
        foreach (var section in plan.NodeSections)
        {
            HostLog.LeftToShipper(logger, section.Location.ToString(), section.Header, section.PluginName ?? "?");
        }
        foreach (var diagnostic in diagnostics)
        {
            HostLog.ConfigWarning(logger, diagnostic.Location.ToString(), diagnostic.Message);
        }

        try
        {
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (ConfigException ex)
        {
            // An output option only its plugin understands: the same file:line form as the loader's diagnostics.
            stderr.WriteLine(ex.ToDiagnostic().ToString());
            return CommandLine.FailureExitCode;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            // Typically a port already in use or an unwritable storage.path: say so once, clearly, and exit
            // non-zero for the supervisor.
            HostLog.Failed(logger, ex);
            return CommandLine.FailureExitCode;
        }
    }
}
