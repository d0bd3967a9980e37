using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using k8s;
using k8s.Models;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>
/// The single-pod GET behind a cache miss, done synchronously on the filter's own thread. The filter interface
/// is synchronous, so a miss has to wait; doing the request with sync I/O (instead of blocking on an async call)
/// means waiting filter threads cannot starve the thread pool the request itself would need to finish.
/// </summary>
internal sealed class KubernetesPodReader : IDisposable
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly Uri _baseUrl;
    private readonly KubernetesTokenFileProvider _token;
    private readonly HttpClient _http;

    public KubernetesPodReader(Uri baseUrl, KubernetesTokenFileProvider token, X509Certificate2Collection? authorities, bool skipTlsVerify)
    {
        // Relative request paths must extend the URL's path, not replace its last segment.
        _baseUrl = baseUrl.AbsolutePath.EndsWith('/') ? baseUrl : new Uri(baseUrl.AbsoluteUri + "/");
        _token = token;
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        if (skipTlsVerify)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        }
        else if (authorities is { Count: > 0 })
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == SslPolicyErrors.None
                || ((errors & ~SslPolicyErrors.RemoteCertificateChainErrors) == SslPolicyErrors.None
                    && certificate is X509Certificate2 leaf && ChainsTo(leaf, authorities));
        }

        _http = new HttpClient(handler) { Timeout = RequestTimeout };
    }

    /// <summary>The pod, or null when the API answers 404. Throws on other failures.</summary>
    public V1Pod? Read(string namespaceName, string podName)
    {
        var path = $"api/v1/namespaces/{Uri.EscapeDataString(namespaceName)}/pods/{Uri.EscapeDataString(podName)}";
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_baseUrl, path));
        request.Headers.Authorization = _token.GetAuthenticationHeaderAsync(CancellationToken.None).GetAwaiter().GetResult();
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = _http.Send(request, HttpCompletionOption.ResponseContentRead);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        using var body = response.Content.ReadAsStream();
        return KubernetesJson.Deserialize<V1Pod>(body);
    }

    /// <summary>The chain ends at one of Kube_CA_File's certificates (the service account CA is not a system root).</summary>
    private static bool ChainsTo(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    public void Dispose() => _http.Dispose();
}
