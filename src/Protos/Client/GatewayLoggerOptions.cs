namespace Gateway.Protos.Client;

/// <summary>Settings of the <c>AddGateway</c> logging provider.</summary>
public sealed class GatewayLoggerOptions
{
    /// <summary>The aggregator's gateway_grpc input, e.g. <c>http://gateway-aggregator:24225</c>.</summary>
    public Uri Address { get; set; } = new("http://127.0.0.1:24225");

    /// <summary>Bearer token when the input has an <c>auth_token_file</c>.</summary>
    public string? BearerToken { get; set; }

    /// <summary>Tag of the records (routes them in the aggregator's config).</summary>
    public string Tag { get; set; } = "app";

    /// <summary>Most log entries per batch.</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>How long a partial batch waits for more entries before it is sent.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Entries queued while the aggregator is slow or away (besides the batch being sent); beyond it new entries
    /// are dropped and counted in <see cref="GatewayLoggerProvider.Dropped"/>.
    /// </summary>
    public int QueueCapacity { get; set; } = 10_000;

    /// <summary>How long disposing the provider waits for queued entries to be acknowledged.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Options for the underlying client (TLS, client certificate); Address/BearerToken above are used when null.</summary>
    public GatewayLogClientOptions? Client { get; set; }
}
