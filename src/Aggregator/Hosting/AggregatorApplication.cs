using System.Net;
using System.Diagnostics.Metrics;
using Gateway.Aggregator.Engine;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;

namespace Gateway.Aggregator.Hosting;

/// <summary>Everything <see cref="AggregatorApplication.Build"/> needs, resolved before the host exists.</summary>
internal sealed class AggregatorHostSettings
{
    public required ConfigDocument Config { get; init; }

    public required ServiceSettings Service { get; init; }

    /// <summary><c>-q</c>: only warnings and errors on the console, whatever <c>Log_Level</c> says.</summary>
    public bool Quiet { get; init; }

    public string? OtlpEndpoint { get; init; }

    public string Version { get; init; } = "0.0.0";

    /// <summary>Builds one output plugin instance per <c>[OUTPUT]</c> section.</summary>
    public required Func<ConfigSection, IOutput> OutputFactory { get; init; }

    /// <summary>Builds one filter per <c>[FILTER]</c> section; null skips filters entirely.</summary>
    public Func<ConfigSection, IFilter?>? FilterFactory { get; init; }
}

/// <summary>
/// Builds the aggregator's ASP.NET Core host: Kestrel with the <c>[SERVICE]</c> HTTP server (health, readiness,
/// metrics) and the forward listeners, console logging at <c>Log_Level</c>, telemetry, and shutdown bounded by
/// <c>Grace</c>. SIGTERM/SIGINT stop it through the generic host's console lifetime.
/// </summary>
internal static class AggregatorApplication
{
    public static WebApplication Build(AggregatorHostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var service = settings.Service;

        // Our own command line is parsed already; handing it to ASP.NET Core would read "-c" as configuration.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = Directory.GetCurrentDirectory(),
        });

        ConfigureLogging(builder.Logging, service.LogLevel, settings.Quiet);

        // The engine drains outputs for Grace and then gives stuck outputs a few more seconds to honour
        // cancellation; the host must not cut that short, or buffered chunks are abandoned mid-flush.
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = service.Grace + TimeSpan.FromSeconds(10));
        builder.Services.AddSingleton(settings.Config);
        builder.Services.AddSingleton(service);
        builder.Services.AddSingleton<ReadinessRegistry>();
        builder.Services.AddAggregatorTelemetry(settings.Version, settings.OtlpEndpoint);

        // The engine is a hosted service registered before the server, so it starts (and begins replaying
        // storage) before any listener accepts data, and stops only after the listeners stopped.
        builder.Services.AddSingleton(sp => AggregatorEngine.FromConfig(
            settings.Config,
            settings.OutputFactory,
            sp.GetRequiredService<ILoggerFactory>(),
            settings.FilterFactory,
            TimeProvider.System,
            sp.GetRequiredService<IMeterFactory>()));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AggregatorEngine>());

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Only explicit endpoints: ASPNETCORE_URLS / launch settings must not open extra ports.
            kestrel.AddServerHeader = false;
            if (service.HttpServer)
            {
                kestrel.Listen(service.HttpListen, service.HttpPort);
            }
        });

        var forwardInputs = CountForwardInputs(settings.Config);
        if (!service.HttpServer && forwardInputs == 0)
        {
            builder.Services.AddSingleton<IServer, NoListenerServer>();
        }

        var app = builder.Build();
        MapHttpEndpoints(app);

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Aggregator");
        var readiness = app.Services.GetRequiredService<ReadinessRegistry>();
        readiness.Register("listeners", () => app.Lifetime.ApplicationStarted.IsCancellationRequested);
        readiness.Register("engine", () => app.Services.GetRequiredService<AggregatorEngine>().IsReady);

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            if (!service.HttpServer && forwardInputs == 0)
            {
                HostLog.NothingListens(logger);
            }

            if (service.HttpServer)
            {
                var port = BoundPort(app, service.HttpPort);
                HostLog.HttpServerListening(logger, service.HttpListen.ToString(), port);
            }

            if (!string.IsNullOrWhiteSpace(settings.OtlpEndpoint))
            {
                HostLog.OtlpExportEnabled(logger, settings.OtlpEndpoint);
            }
        });
        app.Lifetime.ApplicationStopping.Register(() => HostLog.ShuttingDown(logger, service.Grace.TotalSeconds));
        app.Lifetime.ApplicationStopped.Register(() => HostLog.Stopped(logger));
        return app;
    }

    /// <summary>The HTTP endpoints: liveness, readiness and the Prometheus scrape.</summary>
    public static void MapHttpEndpoints(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        // Liveness: the process serves requests. Deliberately no dependency checks, so a slow output never makes
        // Kubernetes restart an aggregator that is still holding buffered data.
        app.MapGet("/healthz", () => Results.Text("ok\n", "text/plain"));

        app.MapGet("/readyz", (ReadinessRegistry readiness) =>
            readiness.IsReady(out var notReady)
                ? Results.Text("ready\n", "text/plain")
                : Results.Text($"not ready: {string.Join(", ", notReady)}\n", "text/plain", statusCode: StatusCodes.Status503ServiceUnavailable));

        app.MapPrometheusScrapingEndpoint("/metrics");
    }

    /// <summary>The actual port of the HTTP endpoint (differs from the configured one when that was 0).</summary>
    public static int BoundPort(WebApplication app, int configuredPort)
    {
        ArgumentNullException.ThrowIfNull(app);
        if (configuredPort != 0)
        {
            return configuredPort;
        }

        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is not null)
        {
            foreach (var address in addresses)
            {
                if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp)
                {
                    return uri.Port;
                }
            }
        }

        return configuredPort;
    }

    private static int CountForwardInputs(ConfigDocument config)
    {
        var count = 0;
        foreach (var input in config.OfKind(SectionKind.Input))
        {
            if (string.Equals(input.PluginName, "forward", StringComparison.OrdinalIgnoreCase))
            {
                count++;
            }
        }

        return count;
    }

    private static void ConfigureLogging(ILoggingBuilder logging, LogLevel level, bool quiet)
    {
        logging.ClearProviders();
        logging.AddSimpleConsole(options =>
        {
            // Fluent Bit-like one line per event, UTC, so container log collectors need no multiline handling.
            options.SingleLine = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "[yyyy-MM-ddTHH:mm:ss.fffZ] ";
            options.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        var minimum = quiet && level < LogLevel.Warning ? LogLevel.Warning : level;
        logging.SetMinimumLevel(minimum);

        // ASP.NET Core's own info chatter (request starts, hosting banners) is noise at info; keep it for debug.
        if (minimum >= LogLevel.Information)
        {
            logging.AddFilter("Microsoft", LogLevel.Warning);
        }
    }
}
