using System.Diagnostics.Metrics;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Inputs.Forward;
using Gateway.Aggregator.Inputs.Grpc;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Console;

namespace Gateway.Aggregator.Hosting;

/// <summary>Everything <see cref="AggregatorApplication.Build"/> needs, resolved before the host exists.</summary>
internal sealed class AggregatorHostSettings
{
    public required ConfigDocument Config { get; init; }

    public required ServiceSettings Service { get; init; }

    /// <summary>The forward inputs to serve (from <see cref="PipelinePlan"/>).</summary>
    public IReadOnlyList<ForwardInputPlan> ForwardInputs { get; init; } = [];

    /// <summary>The gateway_grpc inputs to serve (from <see cref="PipelinePlan"/>).</summary>
    public IReadOnlyList<GrpcInputPlan> GrpcInputs { get; init; } = [];

    /// <summary><c>-q</c>: only warnings and errors on the console, whatever <c>Log_Level</c> says.</summary>
    public bool Quiet { get; init; }

    public string? OtlpEndpoint { get; init; }

    public string Version { get; init; } = "0.0.0";

    /// <summary>Builds one output plugin instance per <c>[OUTPUT]</c> section (normally <see cref="OutputFactory.Create"/>).</summary>
    public required Func<ConfigSection, OutputContext, IOutput> OutputFactory { get; init; }
}

/// <summary>
/// Builds the aggregator's ASP.NET Core host: Kestrel with the <c>[SERVICE]</c> HTTP server (health, readiness,
/// metrics) and one endpoint per forward input, the engine as a hosted service, console logging at
/// <c>Log_Level</c>, telemetry, and shutdown bounded by <c>Grace</c>. SIGTERM/SIGINT stop it through the
/// generic host's console lifetime: listeners close first, then the engine drains.
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
        builder.Services.AddSingleton(sp => CreateEngine(settings, sp));
        builder.Services.AddHostedService(sp => sp.GetRequiredService<AggregatorEngine>());

        if (settings.GrpcInputs.Count > 0)
        {
            AddGrpcServices(builder.Services, settings.GrpcInputs);
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            if (service.HttpServer)
            {
                kestrel.Listen(service.HttpListen, service.HttpPort);
            }

            AddForwardInputs(kestrel, settings.ForwardInputs);
            AddGrpcInputs(kestrel, settings.GrpcInputs);
        });

        if (!service.HttpServer && settings.ForwardInputs.Count == 0 && settings.GrpcInputs.Count == 0)
        {
            builder.Services.AddSingleton<IServer, NoListenerServer>();
        }

        var app = builder.Build();
        MapHttpEndpoints(app);
        if (settings.GrpcInputs.Count > 0)
        {
            MapGrpcServices(app);
        }

        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Aggregator");
        var readiness = app.Services.GetRequiredService<ReadinessRegistry>();
        readiness.Register("listeners", () => app.Lifetime.ApplicationStarted.IsCancellationRequested);
        readiness.Register("engine", () => app.Services.GetRequiredService<AggregatorEngine>().IsReady);

        app.Lifetime.ApplicationStarted.Register(() => LogStarted(app, settings, logger));
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
        // Plain RequestDelegates: a lambda with parameters would go through the minimal-API request delegate
        // factory, which compiles expression trees at startup (System.Linq.Expressions and its JIT'd code stay
        // resident: megabytes of a process that is meant to be small).
        app.MapGet("/healthz", (RequestDelegate)(static context => PlainText(context, StatusCodes.Status200OK, "ok\n")));

        var readiness = app.Services.GetRequiredService<ReadinessRegistry>();
        app.MapGet("/readyz", (RequestDelegate)(context =>
            readiness.IsReady(out var notReady)
                ? PlainText(context, StatusCodes.Status200OK, "ready\n")
                : PlainText(context, StatusCodes.Status503ServiceUnavailable, $"not ready: {string.Join(", ", notReady)}\n")));

        app.MapPrometheusScrapingEndpoint("/metrics");
    }

    private static Task PlainText(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain";
        return context.Response.WriteAsync(text);
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

    private static AggregatorEngine CreateEngine(AggregatorHostSettings settings, IServiceProvider services)
    {
        var loggerFactory = services.GetRequiredService<ILoggerFactory>();
        var instanceNames = new Dictionary<string, int>(StringComparer.Ordinal);
        IOutput CreateOutput(ConfigSection section) => settings.OutputFactory(section, new OutputContext
        {
            InstanceName = PipelinePlan.InstanceName(section, instanceNames),
            LoggerFactory = loggerFactory,
            TimeProvider = TimeProvider.System,
            FlushInterval = settings.Service.FlushInterval,
        });

        // Node-local filters (aws) come back null: the shipper already ran them on the records it forwarded.
        var filterServices = new FilterServices(ParserRegistry.FromConfig(settings.Config), loggerFactory, TimeProvider.System);
        IFilter? CreateFilter(ConfigSection section) =>
            NodePlugins.IsNodeFilter(section.PluginName) ? null : FilterFactory.Create(section, services: filterServices);

        return AggregatorEngine.FromConfig(
            settings.Config,
            CreateOutput,
            loggerFactory,
            CreateFilter,
            TimeProvider.System,
            services.GetRequiredService<IMeterFactory>());
    }

    private static void AddForwardInputs(KestrelServerOptions kestrel, IReadOnlyList<ForwardInputPlan> inputs)
    {
        if (inputs.Count == 0)
        {
            return;
        }

        var services = kestrel.ApplicationServices;
        var engine = services.GetRequiredService<AggregatorEngine>();
        var meters = services.GetRequiredService<IMeterFactory>();
        var logger = services.GetRequiredService<ILogger<ForwardConnectionHandler>>();
        var stopping = services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        foreach (var input in inputs)
        {
            // Each input gets its own sink so its storage.type and Mem_Buf_Limit apply to what it receives.
            var handler = new ForwardConnectionHandler(
                input.Options,
                engine.CreateInputSink(input.Section),
                new ForwardInputMetrics(meters, input.Options.Name),
                logger,
                stopping);
            kestrel.ListenForward(input.Options, handler);
        }
    }

    /// <summary>
    /// gRPC for the gateway_grpc/opentelemetry inputs: a receive limit that lets each input's own Buffer_Max_Size
    /// check answer first, the authentication interceptor, grpc.health.v1 (healthy = the aggregator is ready, as
    /// <c>/readyz</c>) and server reflection.
    /// </summary>
    public static void AddGrpcServices(IServiceCollection services, IReadOnlyList<GrpcInputPlan> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var largest = 0;
        foreach (var input in inputs)
        {
            largest = Math.Max(largest, input.Options.MaxBatchBytes);
        }

        // Framing (batch id, tag, node name) on top of the events; a bigger message is ResourceExhausted anyway.
        services.AddGrpc(options =>
        {
            options.MaxReceiveMessageSize = largest + (1024 * 1024);
            options.Interceptors.Add<GrpcAuthenticationInterceptor>();
        });
        services.AddGrpcHealthChecks().AddCheck<ReadinessHealthCheck>("aggregator");
        services.AddGrpcReflection();
    }

    /// <summary>Maps the gRPC services once; each input's endpoint decides which of them answers there.</summary>
    public static void MapGrpcServices(IEndpointRouteBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapGrpcService<IngestService>();
        app.MapGrpcService<OtlpLogsService>();
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
    }

    private static void AddGrpcInputs(KestrelServerOptions kestrel, IReadOnlyList<GrpcInputPlan> inputs)
    {
        if (inputs.Count == 0)
        {
            return;
        }

        var services = kestrel.ApplicationServices;
        var engine = services.GetRequiredService<AggregatorEngine>();
        var meters = services.GetRequiredService<IMeterFactory>();
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Gateway.Aggregator.Inputs.Grpc");
        foreach (var input in inputs)
        {
            // Like forward: each input's own sink, so its storage.type and Mem_Buf_Limit apply.
            kestrel.ListenGatewayGrpc(CreateGrpcBinding(input.Options, engine.CreateInputSink(input.Section), meters, logger));
        }
    }

    /// <summary>An input's binding: its sink, metrics and, when it asks for tokens or certificates, its authenticator.</summary>
    public static GrpcIngestBinding CreateGrpcBinding(GrpcInputOptions options, IChunkSink sink, IMeterFactory meters, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var binding = new GrpcIngestBinding(options, sink, new GrpcInputMetrics(meters, options.Name))
        {
            Authenticator = options.RequiresAuthentication ? new GrpcCallAuthenticator(options, logger) : null,
        };
        var plugin = options.Protocol == GrpcInputProtocol.OtlpLogs ? GrpcInputOptions.OtlpPluginName : GrpcInputOptions.PluginName;
        var transport = options.Tls is null ? "HTTP/2 cleartext" : options.Tls.VerifyClient ? "TLS, client certificate required" : "TLS";
        GrpcAppLog.Listening(logger, plugin, options.Name, options.Listen, options.Port, transport, options.AuthTokenFile is null ? string.Empty : ", bearer token required");
        return binding;
    }

    private static void LogStarted(WebApplication app, AggregatorHostSettings settings, ILogger logger)
    {
        var service = settings.Service;
        if (!service.HttpServer && settings.ForwardInputs.Count == 0 && settings.GrpcInputs.Count == 0)
        {
            HostLog.NothingListens(logger);
        }

        if (service.HttpServer)
        {
            HostLog.HttpServerListening(logger, service.HttpListen.ToString(), BoundPort(app, service.HttpPort));
        }

        if (!string.IsNullOrWhiteSpace(settings.OtlpEndpoint))
        {
            HostLog.OtlpExportEnabled(logger, settings.OtlpEndpoint);
        }

        var engine = app.Services.GetRequiredService<AggregatorEngine>();
        _ = engine.Ready.ContinueWith(
            ready =>
            {
                if (ready.IsCompletedSuccessfully)
                {
                    HostLog.Ready(logger);
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
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
