using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gateway.Aggregator.Tests.Inputs.Grpc;

/// <summary>
/// A throwaway CA with a server certificate (localhost/127.0.0.1) and a client certificate it signed, plus a
/// self-signed "rogue" client certificate no CA vouches for; PEM files in <see cref="Directory"/>.
/// </summary>
internal sealed class TestPki : IDisposable
{
    private TestPki(string directory, X509Certificate2 ca, X509Certificate2 client, X509Certificate2 rogue)
    {
        Directory = directory;
        Authority = ca;
        Client = client;
        Rogue = rogue;
    }

    public string Directory { get; }

    public string CaFile => Path.Combine(Directory, "ca.crt");

    public string ServerCertificateFile => Path.Combine(Directory, "server.crt");

    public string ServerKeyFile => Path.Combine(Directory, "server.key");

    public X509Certificate2 Authority { get; }

    public X509Certificate2 Client { get; }

    public X509Certificate2 Rogue { get; }

    public static TestPki Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), "gateway-pki-" + Guid.NewGuid().ToString("N"));
        System.IO.Directory.CreateDirectory(directory);
        var now = DateTimeOffset.UtcNow;

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Gateway Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(7));
        File.WriteAllText(Path.Combine(directory, "ca.crt"), ca.ExportCertificatePem());

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, now.AddDays(-1), now.AddDays(6), [1, 2, 3, 4]);
        File.WriteAllText(Path.Combine(directory, "server.crt"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server.key"), serverKey.ExportPkcs8PrivateKeyPem());

        var client = CreateClient("CN=app-a", ca, [5, 6, 7, 8]);
        var rogue = CreateClient("CN=rogue", null, [9, 10, 11, 12]);
        return new TestPki(directory, ca, client, rogue);
    }

    public void Dispose()
    {
        Authority.Dispose();
        Client.Dispose();
        Rogue.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static X509Certificate2 CreateClient(string subject, X509Certificate2? issuer, byte[] serial)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        var now = DateTimeOffset.UtcNow;
        if (issuer is null)
        {
            return request.CreateSelfSigned(now.AddDays(-1), now.AddDays(6));
        }

        using var certificate = request.Create(issuer, now.AddDays(-1), now.AddDays(6), serial);
        return certificate.CopyWithPrivateKey(key);
    }
}
