using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>Registers gRPC inputs (gateway_grpc, opentelemetry) as Kestrel endpoints, one per input section.</summary>
internal static class GrpcInputKestrelExtensions
{
    /// <summary>
    /// Adds an HTTP/2 endpoint on Listen:Port whose connections carry <paramref name="binding"/>, so the gRPC
    /// services (<see cref="IngestService"/>, <see cref="OtlpLogsService"/>) store what arrives there into that
    /// input's sink. Cleartext (h2c) without <c>tls</c>; with it TLS (ALPN h2), and with <c>tls.verify</c> a client
    /// certificate is requested (checked per call by <see cref="GrpcCallAuthenticator"/>). The services must be
    /// mapped once. Port 0 picks a free port (see the returned <see cref="ListenOptions"/> after start).
    /// </summary>
    public static ListenOptions ListenGatewayGrpc(this KestrelServerOptions kestrel, GrpcIngestBinding binding)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(binding);
        var options = binding.Options;
        var certificate = options.Tls is { } tls ? LoadCertificate(tls.CertificateFile, tls.KeyFile, tls.KeyPassword) : null;
        ListenOptions? endpoint = null;
        void Configure(ListenOptions listen)
        {
            endpoint = listen;

            // HTTP/2 only: gRPC needs it, and without TLS there is no ALPN to negotiate it.
            listen.Protocols = HttpProtocols.Http2;
            if (certificate is not null)
            {
                var https = new HttpsConnectionAdapterOptions { ServerCertificate = certificate };
                if (options.Tls!.VerifyClient)
                {
                    // Ask for a certificate but let the handshake finish; GrpcCallAuthenticator verifies it and answers
                    // Unauthenticated with a reason, which a client can act on (a failed handshake it cannot).
                    https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
                    https.ClientCertificateValidation = (_, _, _) => true;
                }

                listen.UseHttps(https);
            }

            listen.Use(next => connection =>
            {
                connection.Items[typeof(GrpcIngestBinding)] = binding;
                return next(connection);
            });
        }

        if (string.Equals(options.Listen, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(options.Port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(options.Listen), options.Port, Configure);
        }

        return endpoint!;
    }

    private static X509Certificate2 LoadCertificate(string certificateFile, string keyFile, string? password) =>
        password is { Length: > 0 }
            ? X509Certificate2.CreateFromEncryptedPemFile(certificateFile, password, keyFile)
            : X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
}
