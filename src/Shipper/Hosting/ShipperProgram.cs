using Gateway.Engine.Config;
using Gateway.Engine.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Gateway.Shipper.Hosting;

/// <summary>What the shipper's pipeline gets to run with.</summary>
internal sealed class ShipperRunContext
{
    public required ConfigDocument Config { get; init; }

    /// <summary><c>--aggregator host:port</c> endpoints (failover order); when set they replace the config's forward output.</summary>
    public IReadOnlyList<HostPort> Aggregators { get; init; } = [];

    /// <summary>The node's name for every chunk; null: from the environment (<c>NODE_NAME</c>, ...).</summary>
    public string? NodeName { get; init; }

    public required ILoggerFactory LoggerFactory { get; init; }
}

/// <summary>
/// The shipper's <c>Main</c> flow, the same as the aggregator's: command line, config load and validation
/// (<c>--dry-run</c> stops there), then the pipeline until SIGTERM. Exit codes: 0 clean stop, 1 config errors
/// or failure, 2 usage error. Only AOT-safe APIs here (no reflection-based configuration binding).
/// </summary>
internal static class ShipperProgram
{
    /// <summary>Until the shipper's inputs are wired: run nothing, wait for the stop signal.</summary>
    public static readonly Func<ShipperRunContext, CancellationToken, Task> Idle =
        static async (_, stopping) =>
        {
            try
            {
                await Task.Delay(Timeout.Infinite, stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // The normal way out: a shutdown signal.
            }
        };

    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        Func<ShipperRunContext, CancellationToken, Task> runPipeline,
        TextWriter stdout,
        TextWriter stderr,
        CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(runPipeline);
        var exit = ProgramEntry.HandleCommandLine(args, GatewayProgram.Shipper, stdout, stderr, out var options);
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

        var logLevel = ReadLogLevel(config, diagnostics);
        if (ProgramEntry.StopAfterValidation(options, config, diagnostics, stdout, stderr) is { } stop)
        {
            return stop;
        }

        using var loggerFactory = CreateLoggerFactory(options.Quiet && logLevel < LogLevel.Warning ? LogLevel.Warning : logLevel);
        var logger = loggerFactory.CreateLogger("Gateway.Shipper");
        ShipperHostLog.Starting(logger, ProgramEntry.VersionText(), configPath);
        foreach (var diagnostic in diagnostics)
        {
            ShipperHostLog.ConfigWarning(logger, diagnostic.Location.ToString(), diagnostic.Message);
        }

        if (options.Aggregators.Count > 0)
        {
            ShipperHostLog.AggregatorOverride(logger, string.Join(", ", options.Aggregators));
        }

        // The pipeline gets its own token, cancelled after the shutdown line is logged, so the log reads in
        // order (cancellation callbacks run last-registered first, the pipeline's own would come first).
        using var pipelineStopping = new CancellationTokenSource();
        using var stopRegistration = stopping.Register(() =>
        {
            ShipperHostLog.ShuttingDown(logger, "signal");
            pipelineStopping.Cancel();
        });
        try
        {
            var context = new ShipperRunContext { Config = config, Aggregators = options.Aggregators, LoggerFactory = loggerFactory };
            await runPipeline(context, pipelineStopping.Token).ConfigureAwait(false);
            ShipperHostLog.Stopped(logger);
            return 0;
        }
        catch (OperationCanceledException) when (pipelineStopping.IsCancellationRequested)
        {
            ShipperHostLog.Stopped(logger);
            return 0;
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or UnauthorizedAccessException)
        {
            ShipperHostLog.Failed(logger, ex);
            return CommandLine.FailureExitCode;
        }
    }

    /// <summary>The last <c>[SERVICE] Log_Level</c>; a bad value is a file:line error.</summary>
    private static LogLevel ReadLogLevel(ConfigDocument config, List<ConfigDiagnostic> diagnostics)
    {
        var level = LogLevel.Information;
        foreach (var service in config.OfKind(SectionKind.Service))
        {
            foreach (var entry in service.FindAll("Log_Level"))
            {
                if (!FluentBitLogLevel.TryParse(entry.Value, out level) && !HasErrorAt(diagnostics, entry.Location))
                {
                    diagnostics.Add(new ConfigDiagnostic(
                        entry.Location,
                        DiagnosticSeverity.Error,
                        $"[SERVICE] {entry.Key} '{entry.Value}' is not one of {FluentBitLogLevel.Expected}"));
                }
            }
        }

        return level;
    }

    private static ILoggerFactory CreateLoggerFactory(LogLevel level) =>
        LoggerFactory.Create(logging =>
        {
            logging.SetMinimumLevel(level);
            logging.AddSimpleConsole(options =>
            {
                options.SingleLine = true;
                options.UseUtcTimestamp = true;
                options.TimestampFormat = "[yyyy-MM-ddTHH:mm:ss.fffZ] ";
                options.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        });

    // The validator checks Log_Level too; one complaint per line is enough.
    private static bool HasErrorAt(List<ConfigDiagnostic> diagnostics, ConfigLocation location)
    {
        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Location == location && diagnostic.Severity == DiagnosticSeverity.Error)
            {
                return true;
            }
        }

        return false;
    }
}
