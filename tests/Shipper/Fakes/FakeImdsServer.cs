using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;
using Gateway.Tests.Shared;

namespace Gateway.Shipper.Tests.Fakes;

/// <summary>
/// A local stand-in for the EC2 instance metadata service, strict like real IMDSv2: <c>PUT /latest/api/token</c>
/// needs <c>X-aws-ec2-metadata-token-ttl-seconds</c> (400 without), every GET needs a valid
/// <c>X-aws-ec2-metadata-token</c> (401 without, unless <see cref="AllowV1"/>). Listens on 127.0.0.1, an ephemeral
/// port, one request per connection; counts every request by method and path.
/// </summary>
internal sealed class FakeImdsServer : IAsyncDisposable
{
    private readonly LoopbackTcpServer _server;
    private readonly ConcurrentDictionary<string, int> _requests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _values = new(StringComparer.Ordinal);
    private int _tokens;
    // Every issued token stays valid until ExpireToken, as real IMDS accepts any unexpired token: two aws filters
    // (the container-insights seed has two) each hold their own.
    private readonly ConcurrentDictionary<string, bool> _validTokens = new(StringComparer.Ordinal);

    public FakeImdsServer()
    {
        _server = new LoopbackTcpServer(ServeAsync);
        Endpoint = new Uri($"http://127.0.0.1:{_server.Port}");
    }

    public Uri Endpoint { get; }

    /// <summary>Answer GETs without a token too (an IMDSv1-enabled instance).</summary>
    public bool AllowV1 { get; set; }

    /// <summary>While true every request is answered 503 (metadata service not reachable yet).</summary>
    public bool Unavailable { get; set; }

    public int TokensIssued => Volatile.Read(ref _tokens);

    /// <summary>Makes every issued token invalid (as after their TTL): the next GET with one gets 401.</summary>
    public void ExpireToken() => _validTokens.Clear();

    public void Set(string path, string value) => _values[path] = value;

    /// <summary>Serves a typical instance: az, id, type, IP, VPC (via mac), AMI, identity document, hostname.</summary>
    public FakeImdsServer WithInstance()
    {
        Set("/latest/meta-data/placement/availability-zone", "us-east-1a");
        Set("/latest/meta-data/instance-id", "i-0123456789abcdef0");
        Set("/latest/meta-data/instance-type", "m5.large");
        Set("/latest/meta-data/local-ipv4", "10.0.1.23");
        Set("/latest/meta-data/mac", "0e:12:34:56:78:9a");
        Set("/latest/meta-data/network/interfaces/macs/0e:12:34:56:78:9a/vpc-id", "vpc-0abc");
        Set("/latest/meta-data/ami-id", "ami-0def");
        Set("/latest/dynamic/instance-identity/document", "{\"accountId\" : \"123456789012\", \"region\" : \"us-east-1\"}");
        Set("/latest/meta-data/hostname", "ip-10-0-1-23.ec2.internal");
        return this;
    }

    public int Requests(string method, string path) => _requests.TryGetValue(method + " " + path, out var n) ? n : 0;

    public int TotalRequests
    {
        get
        {
            var total = 0;
            foreach (var kv in _requests)
            {
                total += kv.Value;
            }

            return total;
        }
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    /// <summary>One request per connection, answered within 30 s or dropped.</summary>
    private async Task ServeAsync(TcpClient client, int connection, CancellationToken stopping)
    {
        var stream = client.GetStream();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        var head = await ReadHeadAsync(stream, timeout.Token);
        if (head is null)
        {
            return;
        }

        var (status, body) = Answer(head.Value.Method, head.Value.Path, head.Value.Headers);
        var bytes = Encoding.UTF8.GetBytes(body);
        var response = $"HTTP/1.1 {status} {(status == 200 ? "OK" : "Error")}\r\nContent-Type: text/plain\r\nContent-Length: {bytes.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(response), timeout.Token);
        await stream.WriteAsync(bytes, timeout.Token);
    }

    private (int Status, string Body) Answer(string method, string path, Dictionary<string, string> headers)
    {
        _requests.AddOrUpdate(method + " " + path, 1, static (_, n) => n + 1);
        if (Unavailable)
        {
            return (503, "unavailable");
        }

        if (path == "/latest/api/token")
        {
            if (method != "PUT")
            {
                return (405, "token needs PUT");
            }

            if (!headers.TryGetValue("x-aws-ec2-metadata-token-ttl-seconds", out var ttl) || !int.TryParse(ttl, out var seconds) || seconds is < 1 or > 21600)
            {
                return (400, "missing or bad X-aws-ec2-metadata-token-ttl-seconds");
            }

            var token = "TOKEN-" + Interlocked.Increment(ref _tokens);
            _validTokens[token] = true;
            return (200, token);
        }

        if (method != "GET")
        {
            return (405, "method not allowed");
        }

        if (!AllowV1 && (!headers.TryGetValue("x-aws-ec2-metadata-token", out var given) || !_validTokens.ContainsKey(given)))
        {
            return (401, "Unauthorized");
        }

        return _values.TryGetValue(path, out var value) ? (200, value) : (404, "Not Found");
    }

    private static async Task<(string Method, string Path, Dictionary<string, string> Headers)?> ReadHeadAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        var filled = 0;
        while (filled < buffer.Length)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (n == 0)
            {
                return null;
            }

            filled += n;
            var text = Encoding.ASCII.GetString(buffer, 0, filled);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0)
            {
                continue;
            }

            var lines = text[..end].Split("\r\n");
            var requestLine = lines[0].Split(' ');
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            for (var i = 1; i < lines.Length; i++)
            {
                var colon = lines[i].IndexOf(':', StringComparison.Ordinal);
                if (colon > 0)
                {
                    headers[lines[i][..colon].Trim().ToLowerInvariant()] = lines[i][(colon + 1)..].Trim();
                }
            }

            // Bodies are not expected (the token PUT is empty); a Content-Length body would be ignored.
            return (requestLine[0], requestLine[1], headers);
        }

        throw new IOException("request head larger than 16 KiB");
    }
}
