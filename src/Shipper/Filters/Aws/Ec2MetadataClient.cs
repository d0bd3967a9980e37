using System.Net;
using System.Net.Http.Headers;

namespace Gateway.Shipper.Filters.Aws;

/// <summary>A metadata request that failed; <see cref="StatusCode"/> is null when no HTTP answer came.</summary>
internal sealed class ImdsException : Exception
{
    public ImdsException(string message, HttpStatusCode? statusCode = null, Exception? inner = null)
        : base(message, inner)
    {
        StatusCode = statusCode;
    }

    public HttpStatusCode? StatusCode { get; }

    public bool IsNotFound => StatusCode == HttpStatusCode.NotFound;
}

/// <summary>
/// The EC2 instance metadata service (IMDS) over HTTP, v1 or v2. With v2 a session token is taken with
/// <c>PUT /latest/api/token</c> (<c>X-aws-ec2-metadata-token-ttl-seconds: 21600</c>, as Fluent Bit) and sent as
/// <c>X-aws-ec2-metadata-token</c>; it is renewed before it expires and once when a request is refused with 401.
/// </summary>
internal sealed class Ec2MetadataClient : IDisposable
{
    /// <summary>The link-local address of IMDS on EC2.</summary>
    public const string DefaultEndpoint = "http://169.254.169.254";

    /// <summary>The endpoint override the AWS SDKs and CLI honour.</summary>
    public const string EndpointEnvironmentVariable = "AWS_EC2_METADATA_SERVICE_ENDPOINT";

    private const string TokenPath = "/latest/api/token";
    private const string TokenTtlHeader = "X-aws-ec2-metadata-token-ttl-seconds";
    private const string TokenHeader = "X-aws-ec2-metadata-token";
    private static readonly TimeSpan TokenTtl = TimeSpan.FromSeconds(21600);

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly ImdsVersion _version;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _tokenGate = new(1, 1);
    private string? _token;
    private DateTimeOffset _tokenRenewAt;

    public Ec2MetadataClient(Uri endpoint, ImdsVersion version, TimeSpan timeout, TimeProvider time, HttpMessageHandler? handler = null)
    {
        _endpoint = endpoint;
        _version = version;
        _time = time;
        _http = handler is null
            ? new HttpClient(new SocketsHttpHandler { ConnectTimeout = timeout, UseProxy = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            : new HttpClient(handler);
        _http.Timeout = timeout;
    }

    /// <summary>The AWS SDKs' per-request IMDS timeout setting, in seconds.</summary>
    public const string TimeoutEnvironmentVariable = "AWS_METADATA_SERVICE_TIMEOUT";

    /// <summary>
    /// The request timeout from <c>AWS_METADATA_SERVICE_TIMEOUT</c> (whole seconds, as the AWS SDKs read it), else
    /// <paramref name="fallback"/> (Fluent Bit's 1 s).
    /// </summary>
    public static TimeSpan ResolveTimeout(TimeSpan fallback, string? configured = null)
    {
        var value = configured ?? Environment.GetEnvironmentVariable(TimeoutEnvironmentVariable);
        return int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : fallback;
    }

    /// <summary>The endpoint from <c>AWS_EC2_METADATA_SERVICE_ENDPOINT</c>, else the EC2 link-local address.</summary>
    public static Uri ResolveEndpoint(string? configured = null)
    {
        var value = configured ?? Environment.GetEnvironmentVariable(EndpointEnvironmentVariable);
        return new Uri(string.IsNullOrWhiteSpace(value) ? DefaultEndpoint : value.TrimEnd('/'));
    }

    /// <summary>GETs a metadata path and returns its body.</summary>
    /// <exception cref="ImdsException">The request failed or was answered with an error status.</exception>
    public async Task<string> GetAsync(string path, CancellationToken cancellationToken)
    {
        var token = _version == ImdsVersion.V2 ? await GetTokenAsync(renew: false, cancellationToken).ConfigureAwait(false) : null;
        var (status, body) = await SendGetAsync(path, token, cancellationToken).ConfigureAwait(false);
        if (status == HttpStatusCode.Unauthorized && _version == ImdsVersion.V2)
        {
            // The token expired or the service restarted: take a new one once.
            token = await GetTokenAsync(renew: true, cancellationToken).ConfigureAwait(false);
            (status, body) = await SendGetAsync(path, token, cancellationToken).ConfigureAwait(false);
        }

        if (status != HttpStatusCode.OK)
        {
            throw new ImdsException($"GET {path} answered {(int)status} {status}", status);
        }

        return body;
    }

    public void Dispose()
    {
        _http.Dispose();
        _tokenGate.Dispose();
    }

    private async Task<(HttpStatusCode Status, string Body)> SendGetAsync(string path, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(_endpoint, path));
        if (token is not null)
        {
            request.Headers.TryAddWithoutValidation(TokenHeader, token);
        }

        try
        {
            using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return (response.StatusCode, body);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ImdsException($"GET {path} failed: {ex.Message}", null, ex);
        }
    }

    private async Task<string> GetTokenAsync(bool renew, CancellationToken cancellationToken)
    {
        await _tokenGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!renew && _token is not null && _time.GetUtcNow() < _tokenRenewAt)
            {
                return _token;
            }

            using var request = new HttpRequestMessage(HttpMethod.Put, new Uri(_endpoint, TokenPath));
            request.Headers.TryAddWithoutValidation(TokenTtlHeader, ((int)TokenTtl.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture));
            request.Content = new ByteArrayContent([]);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain");
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new ImdsException($"PUT {TokenPath} (IMDSv2 token) failed: {ex.Message}", null, ex);
            }

            using (response)
            {
                var body = (await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false)).Trim();
                if (response.StatusCode != HttpStatusCode.OK || body.Length == 0)
                {
                    throw new ImdsException($"PUT {TokenPath} (IMDSv2 token) answered {(int)response.StatusCode} {response.StatusCode}", response.StatusCode);
                }

                _token = body;

                // Renew well before the service would refuse it.
                _tokenRenewAt = _time.GetUtcNow() + TokenTtl - TimeSpan.FromMinutes(5);
                return body;
            }
        }
        finally
        {
            _tokenGate.Release();
        }
    }
}
