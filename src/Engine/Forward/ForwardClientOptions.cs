using Gateway.Protos.Forward;

namespace Gateway.Engine.Forward;

/// <summary>One forward server to connect to.</summary>
public sealed record ForwardEndpoint(string Host, int Port)
{
    /// <summary>An upstream <c>[NODE]</c>'s own <c>shared_key</c>; null uses the client's.</summary>
    public string? SharedKey { get; init; }

    /// <summary>An upstream <c>[NODE]</c>'s own <c>tls</c>; null uses the client's.</summary>
    public bool? Tls { get; init; }

    public override string ToString() => $"{Host}:{Port}";
}

/// <summary>How a client with several endpoints chooses among them.</summary>
public enum ForwardBalance
{
    /// <summary>One connection, to the first endpoint that accepts; the next one only when it fails.</summary>
    Failover,

    /// <summary>
    /// One connection per endpoint and chunks spread across them in turn, skipping endpoints that are down — what
    /// Fluent Bit does for the nodes of an <c>Upstream</c> file.
    /// </summary>
    RoundRobin,
}

/// <summary>Everything a <see cref="ForwardClient"/> needs; names follow Fluent Bit's out_forward options.</summary>
public sealed class ForwardClientOptions
{
    /// <summary>
    /// Servers in preference order. The client uses the first that accepts a connection and moves to the next on
    /// failure (failover); load-balancing strategies can be added on the same list.
    /// </summary>
    public required IReadOnlyList<ForwardEndpoint> Endpoints { get; init; }

    /// <summary>Failover (default) or round-robin across <see cref="Endpoints"/>.</summary>
    public ForwardBalance Balance { get; init; }

    /// <summary>
    /// Set on the per-endpoint clients of a round-robin client: when the connection is lost, the chunks written on
    /// it are given back at once (as Retry) so the balancer can resend them on another endpoint, instead of waiting
    /// for this endpoint to come back.
    /// </summary>
    internal bool GiveBackPendingOnDisconnect { get; init; }

    /// <summary>Name used in logs and metric tags, e.g. the output instance <c>forward.0</c>.</summary>
    public string Name { get; init; } = "forward";

    /// <summary><c>Require_ack_response</c>: each chunk carries a <c>chunk</c> id and completes only on the server's ack.</summary>
    public bool RequireAck { get; init; }

    /// <summary>
    /// <c>Compress gzip</c> (Fluent Bit) or zstd (our shipper → aggregator link): entries are compressed and
    /// flagged with the <c>compressed</c> option.
    /// </summary>
    public ForwardCompression Compression { get; init; }

    /// <summary>How long to wait for an ack before giving the chunk back for retry.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Upper bound of chunks written but not yet acknowledged; senders wait for a slot beyond it.</summary>
    public int MaxInFlightChunks { get; init; } = 32;

    /// <summary>First reconnect delay; doubles per failed round up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectBaseDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMaxDelay { get; init; } = TimeSpan.FromSeconds(30);

    public bool Tls { get; init; }

    /// <summary><c>tls.verify</c>: check the server certificate (chain and host name).</summary>
    public bool TlsVerify { get; init; } = true;

    /// <summary><c>tls.ca_file</c>: PEM bundle trusted instead of the system store.</summary>
    public string? TlsCaFile { get; init; }

    /// <summary><c>tls.vhost</c>: SNI / expected certificate name when it differs from the host.</summary>
    public string? TlsServerName { get; init; }

    /// <summary><c>Shared_Key</c>: enables the secure-forward handshake.</summary>
    public string? SharedKey { get; init; }

    /// <summary><c>Self_Hostname</c> sent in the handshake.</summary>
    public string SelfHostname { get; init; } = "localhost";

    public string? Username { get; init; }

    public string? Password { get; init; }

    /// <summary>These options for one endpoint alone (its own shared key / TLS when the upstream node sets them).</summary>
    internal ForwardClientOptions ForSingleEndpoint(ForwardEndpoint endpoint) => new()
    {
        Endpoints = [endpoint],
        Balance = ForwardBalance.Failover,
        GiveBackPendingOnDisconnect = true,

        // Per-endpoint metric tag: the balancing client counts the shared window under Name itself, so the lanes
        // must not add to the same in-flight series.
        Name = $"{Name}@{endpoint}",
        RequireAck = RequireAck,
        Compression = Compression,
        AckTimeout = AckTimeout,
        ConnectTimeout = ConnectTimeout,
        MaxInFlightChunks = MaxInFlightChunks,
        ReconnectBaseDelay = ReconnectBaseDelay,
        ReconnectMaxDelay = ReconnectMaxDelay,
        Tls = endpoint.Tls ?? Tls,
        TlsVerify = TlsVerify,
        TlsCaFile = TlsCaFile,
        TlsServerName = TlsServerName,
        SharedKey = endpoint.SharedKey ?? SharedKey,
        SelfHostname = SelfHostname,
        Username = Username,
        Password = Password,
    };

    /// <summary>Checks ranges; returns a message for the first problem, null when valid.</summary>
    public string? Validate()
    {
        if (Endpoints is null || Endpoints.Count == 0)
        {
            return "at least one endpoint is required";
        }

        foreach (var endpoint in Endpoints)
        {
            if (string.IsNullOrWhiteSpace(endpoint.Host) || endpoint.Port is < 1 or > 65535)
            {
                return $"invalid endpoint '{endpoint}'";
            }
        }

        if (MaxInFlightChunks < 1)
        {
            return "MaxInFlightChunks must be at least 1";
        }

        if (AckTimeout <= TimeSpan.Zero || ConnectTimeout <= TimeSpan.Zero)
        {
            return "timeouts must be positive";
        }

        if ((Username is null) != (Password is null))
        {
            return "Username and Password must be set together";
        }

        if (Username is not null && SharedKey is null)
        {
            return "Username/Password need Shared_Key (they are part of the secure-forward handshake)";
        }

        return null;
    }
}
