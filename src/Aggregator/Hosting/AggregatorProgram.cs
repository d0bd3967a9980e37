using Gateway.Aggregator.Buffer;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Hosting;

namespace Gateway.Aggregator.Hosting;

/// <summary>
/// The aggregator's <c>Main</c> flow: command line, config load and validation (<c>--dry-run</c> stops there),
/// then the host until SIGTERM. Exit codes: 0 clean stop, 1 config errors or failure, 2 usage error.
/// </summary>
internal static class AggregatorProgram
{
    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        Func<string, ConfigDocument> loadConfig,
        Func<ConfigSection, IOutput> outputFactory,
        TextWriter stdout,
        TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(loadConfig);
        ArgumentNullException.ThrowIfNull(outputFactory);
        var exit = ProgramEntry.HandleCommandLine(args, GatewayProgram.Aggregator, stdout, stderr, out var options);
        if (exit is not null)
        {
            return exit.Value;
        }

        var configPath = options.ConfigPath!;
        if (!File.Exists(configPath))
        {
            stderr.WriteLine($"{configPath}: error: config file not found");
            return CommandLine.FailureExitCode;
        }

        var config = loadConfig(configPath);
        var diagnostics = new List<ConfigDiagnostic>(config.Diagnostics);
        var service = ServiceSettings.FromConfig(config, diagnostics);

        if (options.Mode == CommandLineMode.DryRun)
        {
            return ProgramEntry.ReportDiagnostics(configPath, config.Sections.Count, diagnostics, stdout, stderr);
        }

        // A normal start refuses a config with errors too, printing the same file:line lines as --dry-run,
        // rather than running with a half-understood pipeline.
        if (HasErrors(diagnostics))
        {
            return ProgramEntry.ReportDiagnostics(configPath, config.Sections.Count, diagnostics, TextWriter.Null, stderr);
        }

        var settings = new AggregatorHostSettings
        {
            Config = config,
            Service = service,
            Quiet = options.Quiet,
            OtlpEndpoint = Environment.GetEnvironmentVariable(AggregatorTelemetry.OtlpEndpointVariable),
            Version = ProgramEntry.VersionText(),
            OutputFactory = outputFactory,
        };

        await using var app = AggregatorApplication.Build(settings);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Aggregator");
        HostLog.Starting(logger, settings.Version, configPath);
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
            // A value only the engine or a plugin understands (sizes, retry limits, output options): same
            // file:line form as the loader's diagnostics.
            stderr.WriteLine($"{ex.Location}: error: {StripLocation(ex)}");
            return CommandLine.FailureExitCode;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException)
        {
            // Typically a port already in use: say so once, clearly, and exit non-zero for the supervisor.
            HostLog.Failed(logger, ex);
            return CommandLine.FailureExitCode;
        }
    }

    private static string StripLocation(ConfigException ex)
    {
        var prefix = ex.Location + ": ";
        return ex.Message.StartsWith(prefix, StringComparison.Ordinal) ? ex.Message[prefix.Length..] : ex.Message;
    }

    private static bool HasErrors(List<ConfigDiagnostic> diagnostics)
    {
        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Severity == DiagnosticSeverity.Error)
            {
                return true;
            }
        }

        return false;
    }
}
