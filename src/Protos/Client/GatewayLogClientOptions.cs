using System.Security.Cryptography.X509Certificates;

namespace Gateway.Protos.Client;

/// <summary>Where and how a <see cref="GatewayLogClient"/> connects to an aggregator's gateway_grpc input.</summary>
public sealed class GatewayLogClientOptions
{
    /// <summary>The input's address: <c>http://host:24225</c> (h2c) or <c>https://host:24225</c> (its <c>tls On</c>).</summary>
    public required Uri Address { get; init; }

    /// <summary>Sent as <c>authorization: Bearer ...</c> when the input has an <c>auth_token_file</c>.</summary>
    public string? BearerToken { get; init; }

    /// <summary>Presented during the TLS handshake when the input has <c>tls.verify On</c> (mTLS); must have its private key.</summary>
    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>
    /// Trust anchor for the aggregator's certificate when it is not signed by a system CA (e.g. the cluster's own
    /// CA); the server certificate must chain to it. Null = the system trust store.
    /// </summary>
    public X509Certificate2? ServerCertificateAuthority { get; init; }

    /// <summary>Tag of events that set none (also the batch's <c>tag</c>).</summary>
    public string DefaultTag { get; init; } = "app";

    /// <summary>Optional node name sent with every batch (e.g. the pod's node), for ${HOST_NAME}-style templates.</summary>
    public string? NodeName { get; init; }

    /// <summary>Largest message the client sends (the aggregator's Buffer_Max_Size decides what it accepts).</summary>
    public int MaxSendMessageBytes { get; init; } = 16 * 1024 * 1024;
}
