using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>
/// Decides whether a call on a gRPC input may proceed: with <c>auth_token_file</c> it needs
/// <c>authorization: Bearer &lt;token&gt;</c> naming one of the file's tokens; with <c>tls.verify On</c> it needs a
/// client certificate that chains to <c>tls.ca_file</c> (or the system roots). The TLS handshake accepts any client
/// certificate and the check runs here, once per connection, so a missing or untrusted certificate is answered
/// with the gRPC status Unauthenticated and a reason instead of a dropped connection the client cannot explain.
/// </summary>
internal sealed class GrpcCallAuthenticator
{
    private static readonly object CertificateCheckKey = new();
    private readonly GrpcInputOptions _options;
    private readonly BearerTokenFile? _tokens;
    private readonly X509Certificate2Collection? _authorities;

    public GrpcCallAuthenticator(GrpcInputOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        if (options.AuthTokenFile is { } file)
        {
            _tokens = new BearerTokenFile(file, options.Name, logger);
        }

        if (options.Tls is { VerifyClient: true, CaFile: { } caFile })
        {
            _authorities = [];
            _authorities.ImportFromPemFile(caFile);
        }
    }

    /// <summary>Null when the call may proceed, else why not (sent back as the Unauthenticated detail).</summary>
    public string? Check(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_options.Tls is { VerifyClient: true })
        {
            var http = context.GetHttpContext();
            var certificate = http.Connection.ClientCertificate;
            if (certificate is null)
            {
                return "a client certificate is required (tls.verify is on) and none was presented";
            }

            var items = http.Features.Get<IConnectionItemsFeature>()?.Items;
            if (items is null || !items.TryGetValue(CertificateCheckKey, out var verdict))
            {
                verdict = IsTrusted(certificate) ? null : $"client certificate '{certificate.Subject}' does not chain to a trusted CA (tls.ca_file)";
                if (items is not null)
                {
                    items[CertificateCheckKey] = verdict ?? string.Empty;
                }
            }

            if (verdict is string { Length: > 0 } reason)
            {
                return reason;
            }
        }

        if (_tokens is not null)
        {
            var header = context.RequestHeaders.GetValue("authorization");
            if (header is null)
            {
                return "missing 'authorization: Bearer <token>' metadata (auth_token_file is set)";
            }

            const string scheme = "Bearer ";
            if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            {
                return "the authorization metadata is not a Bearer token";
            }

            if (!_tokens.Accepts(header.AsSpan(scheme.Length).Trim()))
            {
                return "the bearer token is not accepted";
            }
        }

        return null;
    }

    private bool IsTrusted(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2"));
        if (_authorities is not null)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(_authorities);
        }

        return chain.Build(certificate);
    }
}
