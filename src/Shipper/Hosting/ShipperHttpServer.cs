using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Engine.Config;
using Gateway.Shipper.Pipeline;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Hosting;

/// <summary>
/// <c>[SERVICE] HTTP_Server On</c>: <c>GET /healthz</c> (200 "ok", for the DaemonSet's liveness probe) and
/// <c>GET /metrics</c> (Prometheus text) on <c>HTTP_Listen</c>:<c>HTTP_Port</c>. A minimal HTTP/1.1 responder on a raw
/// socket — one request per connection, then close — because the NativeAOT shipper has neither ASP.NET Core nor
/// a need for more; a request larger than 8 KiB or slower than 5 s is dropped.
/// </summary>
internal sealed class ShipperHttpServer : IAsyncDisposable
{
    private const int MaxRequestBytes = 8192;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(5);

    private readonly IPEndPoint _endpoint;
    private readonly ILogger _logger;
    private readonly PrometheusMetricsCollector _metrics = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;

    public ShipperHttpServer(IPEndPoint endpoint, ILogger logger)
    {
        _endpoint = endpoint;
        _logger = logger;
    }

    /// <summary>The bound endpoint (the real port when 0 was asked for).</summary>
    public IPEndPoint? LocalEndPoint => _listener?.LocalEndPoint as IPEndPoint;

    /// <summary>The server the <c>[SERVICE]</c> section asks for, or null when <c>HTTP_Server</c> is off (the default).</summary>
    public static ShipperHttpServer? FromConfig(ConfigDocument document, ILogger logger, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(document);
        ConfigSection? service = null;
        foreach (var section in document.OfKind(SectionKind.Service))
        {
            service = section;
        }

        if (service is null || !ConfigValues.GetBool(service, "HTTP_Server", false, diagnostics))
        {
            return null;
        }

        var port = (int)ConfigValues.GetInteger(service, "HTTP_Port", 2020, diagnostics);
        var listenEntry = service.Find("HTTP_Listen");
        var address = IPAddress.Any;
        if (listenEntry is not null && !IPAddress.TryParse(listenEntry.Value.Trim(), out address!))
        {
            diagnostics.Add(new ConfigDiagnostic(listenEntry.Location, DiagnosticSeverity.Error, $"[SERVICE] HTTP_Listen '{listenEntry.Value}' is not an IP address"));
            return null;
        }

        if (port is < 0 or > 65535)
        {
            diagnostics.Add(new ConfigDiagnostic(service.Find("HTTP_Port")!.Location, DiagnosticSeverity.Error, $"[SERVICE] HTTP_Port {port} is not a TCP port"));
            return null;
        }

        return new ShipperHttpServer(new IPEndPoint(address, port), logger);
    }

    /// <summary>Binds and starts accepting; a port in use throws (the shipper then stops with that error).</summary>
    public void Start(CancellationToken cancellationToken)
    {
        var listener = new Socket(_endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Bind(_endpoint);
            listener.Listen(16);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new IOException($"[SERVICE] HTTP server cannot listen on {_endpoint}: {ex.Message}", ex);
        }

        _listener = listener;
        ShipperLog.HttpListening(_logger, listener.LocalEndPoint!.ToString()!);
        _acceptLoop = AcceptLoopAsync(listener, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        _listener?.Dispose();
        try
        {
            await _acceptLoop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException or OperationCanceledException)
        {
            // The listener was closed under the accept: that is how the loop ends.
        }

        _metrics.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var client = await listener.AcceptAsync(cancellationToken).ConfigureAwait(false);
            _ = ServeAsync(client, cancellationToken);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken cancellationToken)
    {
        using (client)
        {
            var remote = client.RemoteEndPoint?.ToString() ?? "?";
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(RequestTimeout);
            try
            {
                var request = await ReadRequestHeadAsync(client, timeout.Token).ConfigureAwait(false);
                var (status, contentType, body) = Respond(request);
                var bodyBytes = Encoding.UTF8.GetBytes(body);
                var head = Encoding.ASCII.GetBytes(
                    $"HTTP/1.1 {status}\r\nContent-Type: {contentType}\r\nContent-Length: {bodyBytes.Length}\r\nConnection: close\r\n\r\n");
                await client.SendAsync(head, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                await client.SendAsync(bodyBytes, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                client.Shutdown(SocketShutdown.Both);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException or InvalidDataException or ObjectDisposedException)
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    ShipperLog.HttpRequestFailed(_logger, remote, ex.Message);
                }
            }
        }
    }

    /// <summary>The request line and headers (up to the blank line); the request line is all we use.</summary>
    private static async Task<string> ReadRequestHeadAsync(Socket client, CancellationToken cancellationToken)
    {
        var buffer = new byte[MaxRequestBytes];
        var length = 0;
        while (length < buffer.Length)
        {
            var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            length += read;
            if (buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8) >= 0)
            {
                return Encoding.ASCII.GetString(buffer, 0, length);
            }
        }

        throw new InvalidDataException(length == buffer.Length ? "request head larger than 8 KiB" : "connection closed before the request was complete");
    }

    private (string Status, string ContentType, string Body) Respond(string request)
    {
        var lineEnd = request.IndexOf("\r\n", StringComparison.Ordinal);
        var parts = request[..lineEnd].Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            return ("400 Bad Request", "text/plain", "bad request\n");
        }

        var path = parts[1];
        var query = path.IndexOf('?', StringComparison.Ordinal);
        if (query >= 0)
        {
            path = path[..query];
        }

        if (parts[0] != "GET" && parts[0] != "HEAD")
        {
            return ("405 Method Not Allowed", "text/plain", "only GET\n");
        }

        return path switch
        {
            "/healthz" => ("200 OK", "text/plain", "ok"),
            "/metrics" => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", _metrics.Render()),
            _ => ("404 Not Found", "text/plain", "not found\n"),
        };
    }
}
