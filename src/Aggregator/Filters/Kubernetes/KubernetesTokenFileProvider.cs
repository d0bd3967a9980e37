using System.Net.Http.Headers;
using k8s.Authentication;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>
/// The bearer token from <c>Kube_Token_File</c>, read again after <c>Kube_Token_TTL</c> (projected service
/// account tokens rotate). A missing file means requests go without a token, as in Fluent Bit (warned once per read).
/// </summary>
internal sealed class KubernetesTokenFileProvider : ITokenProvider
{
    private readonly string _path;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly string _filterName;
    private AuthenticationHeaderValue? _header;
    private long _readAt;

    public KubernetesTokenFileProvider(string path, TimeSpan ttl, TimeProvider clock, ILogger logger, string filterName)
    {
        _path = path;
        _ttl = ttl;
        _clock = clock;
        _logger = logger;
        _filterName = filterName;
    }

    public Task<AuthenticationHeaderValue> GetAuthenticationHeaderAsync(CancellationToken cancellation)
    {
        var header = _header;
        if (header is null || _clock.GetElapsedTime(_readAt) > _ttl)
        {
            header = Read();
            _header = header;
            _readAt = _clock.GetTimestamp();
        }

        return Task.FromResult(header);
    }

    private AuthenticationHeaderValue Read()
    {
        try
        {
            return new AuthenticationHeaderValue("Bearer", File.ReadAllText(_path).Trim());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            KubernetesFilterLog.TokenUnreadable(_logger, ex, _filterName, _path);
            return new AuthenticationHeaderValue("Bearer", string.Empty);
        }
    }
}
