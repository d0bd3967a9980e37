using Gateway.Aggregator.Filters.Kubernetes;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

public sealed class KubernetesFilterResilienceTests
{
    [Fact]
    public async Task Without_an_API_server_records_are_merged_without_a_kubernetes_map_and_nothing_crashes()
    {
        var document = ClassicConfigReader.Parse("""
            [FILTER]
                Name     kubernetes
                Match    *
                Kube_URL http://127.0.0.1:1
                Kube_Token_File /nonexistent/token
                Merge_Log On
            """, "down.conf");
        var section = document.Sections.Single(s => s.Kind == SectionKind.Filter);
        await using var filter = KubernetesFilter.Create(section, ParserRegistry.FromConfig(document), NullLoggerFactory.Instance, TimeProvider.System);
        filter.InitialSyncWait = TimeSpan.FromMilliseconds(200);
        var tag = "kube.var.log.containers.p_ns_c-" + KubernetesFilterHarness.ContainerId(1) + ".log";
        var events = KubernetesFilterHarness.Events(("{\"a\":1}", "stdout"));

        // As Fluent Bit when its API request fails: Merge_Log still applies, there is just no kubernetes map.
        for (var i = 0; i < 3; i++)
        {
            var output = new System.Buffers.ArrayBufferWriter<byte>();
            Assert.Equal(Gateway.Engine.Pipeline.FilterOutcome.Modified, filter.Filter(new Gateway.Engine.Records.EventChunk(tag, events, 1), output, out var count));
            Assert.Equal(1, count);
            Assert.Equal(["1700000000.000000000 {\"log\":\"{\\\"a\\\":1}\",\"stream\":\"stdout\",\"a\":1}"], KubernetesFilterHarness.Render(output.WrittenMemory));
        }

        Assert.False(filter.Source.PodsSynced.IsCompleted);
    }

    [Fact]
    public async Task Preloaded_pod_files_enrich_without_requests_and_survive_a_list_that_lacks_them()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(
            "Kube_Tag_Prefix application.var.log.containers.\nKube_Meta_Preload_Cache_Dir " + KubernetesFilterHarness.PodsDirectory);
        var file = KubernetesFilterHarness.FixtureLogFile("nginx-");
        var events = KubernetesFilterHarness.DockerEvents(file, out var count);

        var line = Assert.Single(h.Run("application.var.log.containers." + Path.GetFileName(file), events, count)!);

        Assert.Contains("\"pod_id\":\"198f7dd2-2270-11ea-be47-0a5d932f5920\"", line, StringComparison.Ordinal);
        Assert.Null(h.Filter.Source.Store.Find("default/nginx-5468c5d4d7-n2swr")!.DeletedAt);
        Assert.Equal(0, h.Server.PodGetRequests);
    }
}

public sealed class KubernetesFilterTlsTests
{
    [Fact]
    public async Task Https_with_the_Kube_CA_File_authority_serves_the_watch_and_the_miss_GET()
    {
        using var authorityKey = System.Security.Cryptography.RSA.Create(2048);
        var authorityRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            new System.Security.Cryptography.X509Certificates.X500DistinguishedName("CN=test-cluster-ca"), authorityKey, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        authorityRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension(true, false, 0, true));
        authorityRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509KeyUsageExtension(
            System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyCertSign | System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.CrlSign, true));
        using var authority = authorityRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));

        using var serverKey = System.Security.Cryptography.RSA.Create(2048);
        var serverRequest = new System.Security.Cryptography.X509Certificates.CertificateRequest(
            new System.Security.Cryptography.X509Certificates.X500DistinguishedName("CN=kubernetes"), serverKey, System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension(
            [new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")], false));
        using var issued = serverRequest.Create(authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(12), [1, 2, 3, 4]);
        using var withKey = System.Security.Cryptography.X509Certificates.RSACertificateExtensions.CopyWithPrivateKey(issued, serverKey);
        using var serverCertificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12(
            withKey.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12), null);

        var caFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(caFile, authority.ExportCertificatePem());
            var id = KubernetesFilterHarness.ContainerId(8);
            await using var h = await KubernetesFilterHarness.StartAsync(
                "Kube_CA_File " + caFile,
                s => s.PutPod(KubernetesFilterHarness.Pod("secure", "listed-1", "node-a", "uid-l", "app", id)),
                serverCertificate: serverCertificate);
            Assert.StartsWith("https://", h.Server.Url, StringComparison.Ordinal);

            Assert.NotNull(h.Run("kube.var.log.containers.listed-1_secure_app-" + id + ".log", KubernetesFilterHarness.Events(("a", "stdout")), 1));

            h.Server.PutPodWithoutEvent(KubernetesFilterHarness.Pod("secure", "got-1", "node-b", "uid-g", "app", id));
            var line = Assert.Single(h.Run("kube.var.log.containers.got-1_secure_app-" + id + ".log", KubernetesFilterHarness.Events(("b", "stdout")), 1)!);
            Assert.Contains("\"host\":\"node-b\"", line, StringComparison.Ordinal);
            Assert.Equal(1, h.Server.PodGetRequests);
        }
        finally
        {
            File.Delete(caFile);
        }
    }
}

public sealed class KubernetesFilterFactoryTests
{
    [Fact]
    public async Task The_filter_factory_builds_kubernetes_when_given_the_parsers_and_loggers()
    {
        var document = ClassicConfigReader.Parse("""
            [FILTER]
                Name     kubernetes
                Alias    k8s-app
                Match    kube.*
                Kube_URL http://127.0.0.1:1
            """, "factory.conf");
        var section = document.Sections.Single(s => s.Kind == SectionKind.Filter);
        var services = new Gateway.Aggregator.Filters.FilterServices(ParserRegistry.FromConfig(document), NullLoggerFactory.Instance, TimeProvider.System);

        var filter = Assert.IsType<KubernetesFilter>(Gateway.Aggregator.Filters.FilterFactory.CreateIfSupported(section, services));
        await filter.DisposeAsync();
        await filter.DisposeAsync(); // a second dispose (the host's container does one) is harmless

        Assert.Equal("k8s-app", filter.Name);
        Assert.Null(Gateway.Aggregator.Filters.FilterFactory.CreateIfSupported(section));
        var ex = Assert.Throws<ConfigException>(() => Gateway.Aggregator.Filters.FilterFactory.Create(section));
        Assert.StartsWith("factory.conf:1: ", ex.Message, StringComparison.Ordinal);
    }
}
