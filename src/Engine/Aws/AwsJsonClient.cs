using System.Net.Http.Headers;
using System.Security.Cryptography;
using Amazon.Runtime;

namespace Gateway.Engine.Aws;

/// <summary>Where and as whom an AWS JSON 1.1 client talks.</summary>
internal sealed record AwsJsonClientSettings
{
    /// <summary>SigV4 service name, e.g. <c>logs</c>, <c>firehose</c>, <c>kinesis</c>.</summary>
    public required string SigningService { get; init; }

    /// <summary><c>X-Amz-Target</c> prefix, e.g. <c>Logs_20140328</c>.</summary>
    public required string TargetPrefix { get; init; }

    public required string Region { get; init; }

    /// <summary>Service endpoint; null means <c>https://{service}.{region}.amazonaws.com</c> (.cn for China regions).</summary>
    public Uri? Endpoint { get; init; }

    public string? ExtraUserAgent { get; init; }

    /// <summary>Requests in flight at once; further calls wait (bounded concurrency, also the pool size).</summary>
    public int MaxConcurrency { get; init; } = 8;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public static Uri DefaultEndpoint(string service, string region) =>
        new($"https://{service}.{region}.amazonaws.com{(region.StartsWith("cn-", StringComparison.Ordinal) ? ".cn" : string.Empty)}/");
}

/// <summary>
/// A small AWS JSON 1.1 protocol client (CloudWatch Logs, Firehose and Kinesis all speak it): POST to the
/// service root with <c>X-Amz-Target: {prefix}.{Operation}</c>, SigV4-signed, keep-alive connections, at most
/// <see cref="AwsJsonClientSettings.MaxConcurrency"/> requests in flight. It never throws for AWS or network
/// errors: every outcome is an <see cref="AwsJsonResponse"/> with a <see cref="AwsErrorKind"/>.
/// </summary>
internal sealed class AwsJsonClient : IDisposable
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/x-amz-json-1.1");

    private readonly AwsJsonClientSettings _settings;
    private readonly AWSCredentials _credentials;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _concurrency;
    private readonly Uri _endpoint;
    private readonly string _host;
    private readonly string _userAgent;

    public AwsJsonClient(AwsJsonClientSettings settings, AWSCredentials credentials, TimeProvider? time = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(credentials);
        _settings = settings;
        _credentials = credentials;
        _time = time ?? TimeProvider.System;
        _endpoint = settings.Endpoint ?? AwsJsonClientSettings.DefaultEndpoint(settings.SigningService, settings.Region);
        _host = _endpoint.IsDefaultPort ? _endpoint.Host : $"{_endpoint.Host}:{_endpoint.Port}";
        _userAgent = "gateway/1.0" + (string.IsNullOrWhiteSpace(settings.ExtraUserAgent) ? string.Empty : " " + settings.ExtraUserAgent.Trim());
        _concurrency = new SemaphoreSlim(Math.Max(1, settings.MaxConcurrency));
        handler ??= new SocketsHttpHandler
        {
            // Keep-alive pool sized to the concurrency; recycle connections so DNS changes are picked up.
            MaxConnectionsPerServer = Math.Max(1, settings.MaxConcurrency),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(55),
            AutomaticDecompression = System.Net.DecompressionMethods.None,
        };
        _http = new HttpClient(handler, disposeHandler: true) { Timeout = settings.RequestTimeout };
    }

    public Uri Endpoint => _endpoint;

    /// <summary>Number of requests sent (each retry counts).</summary>
    public long RequestsSent => Interlocked.Read(ref _requestsSent);

    private long _requestsSent;

    /// <summary>Sends one operation. <paramref name="body"/> is the JSON request body.</summary>
    /// <param name="extraHeader">One more signed header (lower-case name), e.g. CloudWatch's <c>x-amzn-logs-format</c>.</param>
    public Task<AwsJsonResponse> SendAsync(string operation, ReadOnlyMemory<byte> body, CancellationToken cancellationToken, KeyValuePair<string, string>? extraHeader = null) =>
        SendAsync(operation, new RequestBody(body, null), cancellationToken, extraHeader);

    /// <summary>Sends one operation whose body is produced on demand (hashed, then streamed; never one buffer).</summary>
    public Task<AwsJsonResponse> SendAsync(string operation, AwsRequestBody body, CancellationToken cancellationToken, KeyValuePair<string, string>? extraHeader = null) =>
        SendAsync(operation, new RequestBody(default, body), cancellationToken, extraHeader);

    private async Task<AwsJsonResponse> SendAsync(string operation, RequestBody body, CancellationToken cancellationToken, KeyValuePair<string, string>? extraHeader)
    {
        await _concurrency.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Increment(ref _requestsSent);
            ImmutableCredentials credentials;
            try
            {
                credentials = await _credentials.GetCredentialsAsync().ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // No credentials anywhere in the chain (or STS refused): an auth problem, not a crash.
                return new AwsJsonResponse(0, [], "CredentialsUnavailable", ex.Message, AwsErrorKind.Auth);
            }

            using var request = BuildRequest(operation, body, credentials, extraHeader);
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
                var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
                var typeHeader = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.FirstOrDefault() : null;
                return AwsErrorParser.Parse((int)response.StatusCode, bytes, typeHeader);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return new AwsJsonResponse(0, [], "RequestTimeout", $"no answer from {_endpoint} within {_settings.RequestTimeout.TotalSeconds:0}s", AwsErrorKind.Transient);
            }
            catch (HttpRequestException ex)
            {
                return new AwsJsonResponse(0, [], "NetworkError", ex.Message, AwsErrorKind.Transient);
            }
        }
        finally
        {
            _concurrency.Release();
        }
    }

    private HttpRequestMessage BuildRequest(string operation, RequestBody body, ImmutableCredentials credentials, KeyValuePair<string, string>? extraHeader)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        var target = _settings.TargetPrefix + "." + operation;
        var signed = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["content-type"] = "application/x-amz-json-1.1",
            ["host"] = _host,
            [AwsSigV4.DateHeader] = AwsSigV4.FormatDate(now),
            ["x-amz-target"] = target,
        };
        if (credentials.UseToken)
        {
            signed[AwsSigV4.TokenHeader] = credentials.Token;
        }

        if (extraHeader is { } extra)
        {
            signed[extra.Key] = extra.Value;
        }

        Span<byte> payloadHash = stackalloc byte[32];
        if (body.Streamed is { } streamed)
        {
            streamed.ComputeSha256(payloadHash);
        }
        else
        {
            SHA256.HashData(body.Memory.Span, payloadHash);
        }

        var authorization = AwsSigV4.SignPayloadHash(credentials, _settings.Region, _settings.SigningService, now, _endpoint.AbsolutePath, signed, payloadHash);
        var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = body.Streamed is { } content ? content.CreateContent() : new ReadOnlyMemoryContent(body.Memory),
            Version = System.Net.HttpVersion.Version11,
        };
        request.Content.Headers.ContentType = JsonContentType;
        request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        request.Headers.TryAddWithoutValidation("X-Amz-Date", signed[AwsSigV4.DateHeader]);
        if (credentials.UseToken)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", credentials.Token);
        }

        if (extraHeader is { } header)
        {
            request.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }

        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        request.Headers.TryAddWithoutValidation("User-Agent", _userAgent);
        return request;
    }

    /// <summary>A body in one buffer (small operations) or produced on demand (<see cref="AwsRequestBody"/>).</summary>
    private readonly record struct RequestBody(ReadOnlyMemory<byte> Memory, AwsRequestBody? Streamed);

    public void Dispose()
    {
        _http.Dispose();
        _concurrency.Dispose();
    }
}
