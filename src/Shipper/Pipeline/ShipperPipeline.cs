using Gateway.Engine.Config;
using Gateway.Engine.Forward;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Routing;
using Gateway.Shipper.Filters.Aws;
using Gateway.Shipper.Hosting;
using Gateway.Shipper.Inputs.Systemd;
using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Outputs.Grpc;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Pipeline;

/// <summary>
/// The shipper's run: the node's inputs (tail, systemd) → a bounded queue → node filters (aws) → forward with
/// acknowledgements to the aggregator → acknowledge to the input, which commits offsets and cursors. Every chunk
/// carries the node's name. Everything else in the config is the aggregator's job (see <see cref="ShipperPlan"/>).
/// </summary>
internal sealed class ShipperPipeline : IAsyncDisposable
{
    /// <summary>
    /// Chunks on the wire awaiting their ack. A few keep a local link busy. The forward client writes the events
    /// from the input's buffer (no copy), but each chunk in flight keeps its buffer (up to 512 KiB) until the ack.
    /// </summary>
    private const int MaxInFlightChunks = 8;

    private readonly List<(string Name, TailInput Input)> _tailInputs = [];
    private readonly List<(string Name, SystemdInput Input)> _systemdInputs = [];
    private readonly List<AwsFilter> _awsFilters = [];
    private readonly ILogger _logger;
    private ForwardClient? _client;
    private GrpcIngestClient? _grpcClient;
    private ChunkForwarder? _forwarder;
    private ShipperHttpServer? _http;

    private ShipperPipeline(string nodeName, ILogger logger)
    {
        NodeName = nodeName;
        _logger = logger;
    }

    public string NodeName { get; }

    /// <summary>The forward link's client options once built (endpoints and balance); null for gRPC or when not built.</summary>
    internal ForwardClientOptions? ForwardLink { get; private set; }

    public ChunkForwarder Forwarder => _forwarder ?? throw new InvalidOperationException("the pipeline is not built");

    /// <summary>The host's entry point: build (errors are logged with file:line and fail the run), run, tear down.</summary>
    public static async Task RunAsync(ShipperRunContext context, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(context);
        var logger = context.LoggerFactory.CreateLogger("Gateway.Shipper.Pipeline");
        var diagnostics = new List<ConfigDiagnostic>();
        var pipeline = Build(context, diagnostics);
        await using (pipeline.ConfigureAwait(false))
        {
            var failed = false;
            foreach (var diagnostic in diagnostics)
            {
                if (diagnostic.Severity == DiagnosticSeverity.Error)
                {
                    failed = true;
                    ShipperLog.ConfigError(logger, diagnostic.Location.ToString(), diagnostic.Message);
                }
                else
                {
                    ShipperLog.ConfigWarning(logger, diagnostic.Location.ToString(), diagnostic.Message);
                }
            }

            if (failed)
            {
                throw new InvalidOperationException("the shipper's pipeline could not be built; see the config errors above");
            }

            await pipeline.RunAsync(stopping).ConfigureAwait(false);
        }
    }

    /// <summary>Builds every stage it can; problems go to <paramref name="diagnostics"/> (the caller refuses to run on errors).</summary>
    public static ShipperPipeline Build(ShipperRunContext context, List<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(context);
        var factory = context.LoggerFactory;
        var logger = factory.CreateLogger("Gateway.Shipper.Pipeline");
        var pipeline = new ShipperPipeline(context.NodeName ?? NodeIdentity.FromEnvironment(), logger);
        var document = context.Config;
        var plan = ShipperPlan.FromConfig(document, diagnostics);
        var parsers = ParserRegistry.FromConfig(document);

        var instance = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var section in plan.Inputs)
        {
            var name = InstanceName(section, instance);
            if (string.Equals(section.PluginName, "systemd", StringComparison.OrdinalIgnoreCase))
            {
                var input = SystemdInput.FromSection(
                    section,
                    new SystemdInputContext { Name = name, Logger = factory.CreateLogger("Gateway.Shipper.Systemd"), NodeName = pipeline.NodeName },
                    diagnostics);
                if (input is not null)
                {
                    pipeline._systemdInputs.Add((name, input));
                }
            }
            else
            {
                var input = TailInput.FromSection(
                    section,
                    new TailInputContext { Name = name, Logger = factory.CreateLogger("Gateway.Shipper.Tail"), Parsers = parsers, NodeName = pipeline.NodeName },
                    diagnostics);
                if (input is not null)
                {
                    pipeline._tailInputs.Add((name, input));
                }
            }
        }

        var filters = new List<(TagMatcher?, IFilter)>();
        foreach (var section in plan.Filters)
        {
            var name = InstanceName(section, instance);
            TagMatcher? matcher;
            try
            {
                matcher = TagMatcher.FromSection(section);
            }
            catch (ConfigException ex)
            {
                diagnostics.Add(new ConfigDiagnostic(ex.Location, DiagnosticSeverity.Error, ex.Message));
                continue;
            }

            var filter = AwsFilter.FromSection(section, new AwsFilterContext { Name = name, Logger = factory.CreateLogger("Gateway.Shipper.Aws") }, diagnostics);
            if (filter is not null)
            {
                pipeline._awsFilters.Add(filter);
                filters.Add((matcher, filter));
            }
        }

        if (context.Aggregators.Count == 0 && plan.ForwardOutput is null && plan.GrpcOutput is { } grpcSection)
        {
            // The gRPC link: chosen by an [OUTPUT] Name gateway_grpc section when nothing selects forward.
            var grpcOptions = GrpcOutputOptions.FromSection(grpcSection, diagnostics);
            if (grpcOptions is null)
            {
                return pipeline;
            }

            grpcOptions = grpcOptions with { MaxInFlightBatches = MaxInFlightChunks };
            ShipperLog.Runs(logger, pipeline.NodeName, ShipperPlan.Describe(plan.Inputs), ShipperPlan.Describe(plan.Filters));
            ShipperLog.LeftToAggregator(logger, ShipperPlan.Describe(plan.LeftToAggregator));
            ShipperLog.ForwardingTo(logger, grpcOptions.Address.ToString(), $"[OUTPUT] gateway_grpc at {grpcSection.Location}");
            var grpcClient = new GrpcIngestClient(grpcOptions, pipeline.NodeName, factory.CreateLogger("Gateway.Shipper.Grpc"));
            pipeline._grpcClient = grpcClient;
            pipeline._forwarder = new ChunkForwarder(
                grpcClient.SendAsync,
                new NodeFilterChain(filters, logger),
                logger,
                senders: MaxInFlightChunks,
                queueCapacity: MaxInFlightChunks);
            pipeline._http = ShipperHttpServer.FromConfig(document, factory.CreateLogger("Gateway.Shipper.Http"), diagnostics);
            return pipeline;
        }

        var forward = ForwardOptions(context, plan, pipeline.NodeName, diagnostics, logger);
        if (forward is null)
        {
            return pipeline;
        }

        ShipperLog.Runs(logger, pipeline.NodeName, ShipperPlan.Describe(plan.Inputs), ShipperPlan.Describe(plan.Filters));
        ShipperLog.LeftToAggregator(logger, ShipperPlan.Describe(plan.LeftToAggregator));
        ShipperLog.ForwardingTo(
            logger,
            string.Join(", ", forward.Endpoints),
            context.Aggregators.Count > 0 ? "--aggregator" : $"[OUTPUT] forward at {plan.ForwardOutput!.Location}");

        var client = new ForwardClient(forward, factory.CreateLogger("Gateway.Shipper.Forward"));
        pipeline.ForwardLink = forward;
        pipeline._client = client;
        pipeline._forwarder = new ChunkForwarder(
            client.SendAsync,
            new NodeFilterChain(filters, logger),
            logger,
            senders: forward.MaxInFlightChunks,
            queueCapacity: forward.MaxInFlightChunks);
        pipeline._http = ShipperHttpServer.FromConfig(document, factory.CreateLogger("Gateway.Shipper.Http"), diagnostics);
        return pipeline;
    }

    /// <summary>Runs until <paramref name="stopping"/>; an input failing stops the whole shipper (rethrown).</summary>
    public async Task RunAsync(CancellationToken stopping)
    {
        var forwarder = Forwarder;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var token = cts.Token;
        var tasks = new List<Task>();
        // Fluent Bit fetches the instance metadata in the aws filter's init, before any input runs, so the first
        // records (a Read_from_Head backlog) already carry it. Wait for that first fetch as it does: each IMDS
        // request is bounded by its timeout (1 s, AWS_METADATA_SERVICE_TIMEOUT), so an unreachable IMDS delays the
        // start by seconds, never for good; the filter retries what failed per retry_interval_s.
        var metadataFetches = new List<Task>(_awsFilters.Count);
        foreach (var filter in _awsFilters)
        {
            metadataFetches.Add(filter.InitializeAsync(token));
        }

        if (metadataFetches.Count > 0)
        {
            try
            {
                await Task.WhenAll(metadataFetches).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // Stopping while starting: the inputs below see the same token and end at once.
            }
        }

        _http?.Start(token);
        tasks.Add(forwarder.RunAsync(token));
        foreach (var (name, input) in _tailInputs)
        {
            tasks.Add(RunInputAsync(name, input.RunAsync(token)));
            tasks.Add(FeedAsync(input, forwarder, token));
        }

        foreach (var (name, input) in _systemdInputs)
        {
            tasks.Add(RunInputAsync(name, input.RunAsync(token)));
            tasks.Add(FeedAsync(input, forwarder, token));
        }

        var stopped = Task.Delay(Timeout.Infinite, stopping);
        var all = Task.WhenAll(tasks);
        var first = await Task.WhenAny(stopped, Task.WhenAny(tasks)).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        try
        {
            await all.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Normal shutdown.
        }

        ShipperLog.Summary(_logger, forwarder.Metrics.Received, forwarder.Metrics.Acknowledged, forwarder.Metrics.RecordsAcknowledged, forwarder.Metrics.ResendCount);
        if (first != stopped && !stopping.IsCancellationRequested)
        {
            throw new InvalidOperationException("a shipper stage ended on its own; see the errors above");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_http is not null)
        {
            await _http.DisposeAsync().ConfigureAwait(false);
        }

        if (_grpcClient is not null)
        {
            await _grpcClient.DisposeAsync().ConfigureAwait(false);
        }

        if (_client is not null)
        {
            await _client.DisposeAsync().ConfigureAwait(false);
        }

        // Disposing the inputs persists what was acknowledged (offsets, cursors).
        foreach (var (_, input) in _tailInputs)
        {
            await input.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var (_, input) in _systemdInputs)
        {
            await input.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var filter in _awsFilters)
        {
            filter.Dispose();
        }
    }

    private async Task RunInputAsync(string name, Task run)
    {
        try
        {
            await run.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ShipperLog.InputFailed(_logger, ex, name);
            throw;
        }
    }

    private static async Task FeedAsync(TailInput input, ChunkForwarder forwarder, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var chunk in input.Chunks.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                // The forwarder acknowledges once the send completed, so the chunk's (pooled) events are free then.
                await forwarder.EnqueueAsync(new OutboundChunk(chunk.Chunk, chunk.ReleaseEventsAndAcknowledge), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    private static async Task FeedAsync(SystemdInput input, ChunkForwarder forwarder, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var chunk in input.Chunks.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                await forwarder.EnqueueAsync(new OutboundChunk(chunk.Chunk, chunk.Acknowledge), cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// The link to the aggregator: <c>--aggregator</c> endpoints (failover in the order given) win over the config's
    /// <c>[OUTPUT] forward</c> (whose <c>Upstream</c> file, as in Fluent Bit, balances its nodes round-robin). Acknowledgements are always on: they are what lets offsets move.
    /// </summary>
    private static ForwardClientOptions? ForwardOptions(
        ShipperRunContext context,
        ShipperPlan plan,
        string nodeName,
        List<ConfigDiagnostic> diagnostics,
        ILogger logger)
    {
        if (context.Aggregators.Count > 0)
        {
            var endpoints = new ForwardEndpoint[context.Aggregators.Count];
            for (var i = 0; i < endpoints.Length; i++)
            {
                endpoints[i] = new ForwardEndpoint(context.Aggregators[i].Host, context.Aggregators[i].Port);
            }

            return new ForwardClientOptions
            {
                Endpoints = endpoints,
                Name = "shipper",
                RequireAck = true,
                SelfHostname = nodeName,
                MaxInFlightChunks = MaxInFlightChunks,
            };
        }

        if (plan.ForwardOutput is not { } section)
        {
            diagnostics.Add(new ConfigDiagnostic(
                new ConfigLocation(context.Config.MainFile, 1),
                DiagnosticSeverity.Error,
                "the shipper has nowhere to send: pass --aggregator host:port or add an [OUTPUT] Name forward (or gateway_grpc) section"));
            return null;
        }

        ForwardOutputSettings settings;
        try
        {
            settings = ForwardOutputSettings.FromSection(section, "shipper", Path.GetDirectoryName(Path.GetFullPath(context.Config.MainFile)) ?? ".");
        }
        catch (ConfigException ex)
        {
            diagnostics.Add(new ConfigDiagnostic(ex.Location, DiagnosticSeverity.Error, ex.Message));
            return null;
        }

        if (settings.TagOverride is not null)
        {
            diagnostics.Add(new ConfigDiagnostic(
                section.Find("tag")!.Location,
                DiagnosticSeverity.Warning,
                "forward: 'Tag' is ignored by the shipper: records keep their tags so the aggregator can route them"));
        }

        if (!settings.Client.RequireAck)
        {
            ShipperLog.AckForced(logger, section.Location.ToString());
        }

        var client = settings.Client;
        return new ForwardClientOptions
        {
            Endpoints = client.Endpoints,
            Balance = client.Balance, // Upstream file => round-robin, as Fluent Bit
            Name = "shipper",
            RequireAck = true,
            Compression = client.Compression,
            AckTimeout = client.AckTimeout,
            ConnectTimeout = client.ConnectTimeout,
            Tls = client.Tls,
            TlsVerify = client.TlsVerify,
            TlsCaFile = client.TlsCaFile,
            TlsServerName = client.TlsServerName,
            SharedKey = client.SharedKey,
            SelfHostname = section.Find("self_hostname") is null ? nodeName : client.SelfHostname,
            Username = client.Username,
            Password = client.Password,
            MaxInFlightChunks = MaxInFlightChunks,
        };
    }

    /// <summary><c>Alias</c>, else Fluent Bit's <c>plugin.N</c> numbering per plugin.</summary>
    private static string InstanceName(ConfigSection section, Dictionary<string, int> counters)
    {
        var plugin = (section.PluginName ?? "unknown").Trim().ToLowerInvariant();
        counters.TryGetValue(plugin, out var index);
        counters[plugin] = index + 1;
        return section.Get("Alias") is { Length: > 0 } alias ? alias : $"{plugin}.{index}";
    }
}
