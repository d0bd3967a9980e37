using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;

namespace Gateway.FakeServices;

/// <summary>
/// The tests' <see cref="FakeCloudWatchLogsServer"/> (SigV4 checked, every PutLogEvents limit enforced) over HTTPS
/// with a fresh self-signed certificate for 127.0.0.1. The certificate's PEM is written to a file so the client
/// can trust it the ordinary way (<c>SSL_CERT_FILE</c> for .NET and OpenSSL) — nothing skips validation.
/// Messages are not kept (only counts and timestamps), so a long benchmark does not grow the fake.
/// </summary>
internal sealed class CloudWatchLogsFakeService : IFakeService
{
    private readonly FakeCloudWatchLogsServer _server;
    private readonly string _certificatePath;

    private CloudWatchLogsFakeService(FakeCloudWatchLogsServer server, string certificatePath)
    {
        _server = server;
        _certificatePath = certificatePath;
    }

    public string Endpoint => string.Create(
        CultureInfo.InvariantCulture,
        $"cloudwatch_url={_server.Endpoint} cert={_certificatePath} region={FakeCloudWatchLogsServer.Region} access_key={FakeCloudWatchLogsServer.AccessKey} secret_key={FakeCloudWatchLogsServer.SecretKey}");

    public static async Task<CloudWatchLogsFakeService> StartAsync(string certificatePath)
    {
        using var certificate = CreateCertificate();
        await File.WriteAllTextAsync(certificatePath, certificate.ExportCertificatePem() + "\n").ConfigureAwait(false);
        var server = new FakeCloudWatchLogsServer { KeepMessages = false };

        // Kestrel wants the key in a form it can hand to the TLS stack: round-trip through PKCS#12.
        var served = X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), password: null);
        await server.StartAsync(served).ConfigureAwait(false);
        return new CloudWatchLogsFakeService(server, certificatePath);
    }

    /// <summary>
    /// What the fake was asked: PutLogEvents by outcome, events accepted, the largest and mean request, the limit
    /// violations it refused, and streams whose stored events are out of time order.
    /// </summary>
    public string Summary()
    {
        long ok = 0, failed = 0, events = 0, maxEvents = 0, maxBytes = 0;
        foreach (var call in _server.PutCalls)
        {
            if (call.Outcome != "OK")
            {
                failed++;
                continue;
            }

            ok++;
            events += call.EventCount;
            maxEvents = Math.Max(maxEvents, call.EventCount);
            maxBytes = Math.Max(maxBytes, call.BatchBytes);
        }

        var streams = 0;
        var unordered = 0;
        foreach (var group in _server.GroupNames)
        {
            foreach (var stream in _server.StreamNames(group))
            {
                streams++;
                var stored = _server.Events(group, stream);
                for (var i = 1; i < stored.Count; i++)
                {
                    if (stored[i].Timestamp < stored[i - 1].Timestamp)
                    {
                        unordered++;
                        break;
                    }
                }
            }
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"cloudwatch_requests put_ok={ok} put_failed={failed} events={events} max_events={maxEvents} max_bytes={maxBytes} mean_events={(ok == 0 ? 0 : events / ok)} streams={streams} unordered_streams={unordered} violations={_server.Violations.Count} total={_server.TotalRequests}");
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Gateway.FakeServices CloudWatch Logs", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        return request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
