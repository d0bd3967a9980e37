using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gateway.Engine.Pipeline;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Forward;

/// <summary>Registers forward inputs as Kestrel endpoints (one call per <c>[INPUT] Name forward</c>).</summary>
public static class ForwardInputKestrelExtensions
{
    /// <summary>
    /// Adds a forward input endpoint, building its handler from the host's services (IMeterFactory, logging,
    /// ApplicationStopping). Call from <c>ConfigureKestrel</c>, once per forward input.
    /// </summary>
    public static ListenOptions ListenForward(this KestrelServerOptions kestrel, ForwardInputOptions options, IChunkSink sink)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        var services = kestrel.ApplicationServices;
        var metrics = new ForwardInputMetrics(services.GetRequiredService<IMeterFactory>(), options.Name);
        var logger = services.GetRequiredService<ILogger<ForwardConnectionHandler>>();
        var stopping = services.GetService<IHostApplicationLifetime>()?.ApplicationStopping ?? CancellationToken.None;
        return kestrel.ListenForward(options, new ForwardConnectionHandler(options, sink, metrics, logger, stopping));
    }

    /// <summary>
    /// Adds an endpoint serving the Forward protocol with <paramref name="handler"/>: TCP on Listen:Port, or the
    /// Unix socket at Unix_Path (Unix_Perm applied once the server has started), with TLS when configured.
    /// Returns the endpoint's <see cref="ListenOptions"/>; after start its endpoint holds the bound port (Port 0
    /// picks a free one).
    /// </summary>
    public static ListenOptions ListenForward(this KestrelServerOptions kestrel, ForwardInputOptions options, ForwardConnectionHandler handler)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        ListenOptions? endpoint = null;
        var certificate = options.Tls is { } tls ? LoadCertificate(tls) : null;
        void Configure(ListenOptions listen)
        {
            endpoint = listen;
            if (certificate is not null)
            {
                listen.UseHttps(CreateHttpsOptions(certificate, options.Tls!));
            }

            listen.Use(_ => handler.OnConnectedAsync);
        }

        if (options.UnixPath is { } path)
        {
            // A socket file left by a previous run would make the bind fail (Fluent Bit unlinks it as well).
            if (File.Exists(path))
            {
                File.Delete(path);
            }

            kestrel.ListenUnixSocket(path, Configure);
            if (options.UnixPermissions is { } mode)
            {
                kestrel.ApplicationServices?.GetService<IHostApplicationLifetime>()?.ApplicationStarted.Register(() => ApplyUnixPermissions(handler, path, mode));
            }
        }
        else if (string.Equals(options.Listen, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(options.Port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(options.Listen), options.Port, Configure);
        }

        var bound = endpoint!;
        var lifetime = kestrel.ApplicationServices?.GetService<IHostApplicationLifetime>();
        if (lifetime is not null)
        {
            // After start the endpoint shows the bound address (Port 0 resolved).
            lifetime.ApplicationStarted.Register(() => ForwardInputLog.Listening(handler.Logger, options.Name, Describe(bound, options)));
        }

        return bound;
    }

    /// <summary>Sets Unix_Perm on the socket file; call after the server started if the host has no lifetime service.</summary>
    public static void ApplyUnixPermissions(ForwardConnectionHandler handler, string path, UnixFileMode mode)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            File.SetUnixFileMode(path, mode);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            ForwardInputLog.UnixPermissionsFailed(handler.Logger, ex, handler.Options.Name, path);
        }
    }

    private static string Describe(ListenOptions endpoint, ForwardInputOptions options) =>
        (options.UnixPath is { } path ? $"unix://{path}" : endpoint.EndPoint.ToString()) + (options.Tls is null ? string.Empty : " (tls)");

    private static X509Certificate2 LoadCertificate(ForwardTlsOptions tls) =>
        tls.KeyPassword is { Length: > 0 } password
            ? X509Certificate2.CreateFromEncryptedPemFile(tls.CertificateFile, password, tls.KeyFile)
            : X509Certificate2.CreateFromPemFile(tls.CertificateFile, tls.KeyFile);

    private static HttpsConnectionAdapterOptions CreateHttpsOptions(X509Certificate2 certificate, ForwardTlsOptions tls)
    {
        var https = new HttpsConnectionAdapterOptions { ServerCertificate = certificate };
        if (tls.VerifyClient)
        {
            // tls.verify on a server: clients must present a certificate that chains to tls.ca_file (or the system store).
            https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
            if (tls.CaFile is { } caFile)
            {
                var authorities = new X509Certificate2Collection();
                authorities.ImportFromPemFile(caFile);
                https.ClientCertificateValidation = (certificate2, _, errors) =>
                {
                    if (errors == SslPolicyErrors.None)
                    {
                        return true;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    return chain.Build(certificate2);
                };
            }
        }

        return https;
    }
}
