using System.Buffers;
using System.IO.Pipelines;
using System.Net.Security;
using System.Net.Sockets;
using Gateway.Protos.Forward;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

/// <summary>A plain forward client for tests: raw bytes out, acks and handshake messages in, with bounded waits.</summary>
internal sealed class ForwardTestClient : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly PipeReader _reader;

    private ForwardTestClient(Socket socket, Stream stream)
    {
        _socket = socket;
        _stream = stream;
        _reader = PipeReader.Create(stream);
    }

    public delegate ForwardReadStatus Reader<T>(in ReadOnlySequence<byte> buffer, out T? value, out long consumed, out string? error);

    public static async Task<ForwardTestClient> ConnectTcpAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync("127.0.0.1", port, timeout.Token);
        return new ForwardTestClient(socket, new NetworkStream(socket, ownsSocket: false));
    }

    public static async Task<ForwardTestClient> ConnectUnixAsync(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), timeout.Token);
        return new ForwardTestClient(socket, new NetworkStream(socket, ownsSocket: false));
    }

    public static async Task<ForwardTestClient> ConnectTlsAsync(int port, Func<System.Security.Cryptography.X509Certificates.X509Certificate?, bool> validate)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync("127.0.0.1", port, timeout.Token);
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: false), false, (_, cert, _, _) => validate(cert));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" }, timeout.Token);
        return new ForwardTestClient(socket, ssl);
    }

    public async Task SendAsync(byte[] bytes)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        await _stream.WriteAsync(bytes, timeout.Token);
        await _stream.FlushAsync(timeout.Token);
    }

    /// <summary>Sends and swallows the error a server that already closed the connection causes.</summary>
    public async Task SendIgnoringResetAsync(byte[] bytes)
    {
        try
        {
            await SendAsync(bytes);
        }
        catch (IOException)
        {
        }
    }

    public Task<string> ReadAckAsync() => ReadAsync<string>(ForwardAck.TryRead);

    public async Task<T> ReadAsync<T>(Reader<T> read)
        where T : class
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (true)
        {
            var result = await _reader.ReadAsync(timeout.Token);
            var buffer = result.Buffer;
            var status = read(buffer, out var value, out var consumed, out var error);
            if (status == ForwardReadStatus.Ok)
            {
                _reader.AdvanceTo(buffer.GetPosition(consumed));
                return value!;
            }

            if (status == ForwardReadStatus.Error)
            {
                throw new InvalidOperationException(error);
            }

            if (result.IsCompleted)
            {
                throw new EndOfStreamException("server closed the connection");
            }

            _reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>True when the server closes the connection (within the bounded wait) after any pending bytes.</summary>
    public async Task<bool> WaitForCloseAsync()
    {
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(timeout.Token);
                _reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                {
                    return true;
                }
            }
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Whether anything arrives within <paramref name="wait"/> (used to show an ack is withheld).</summary>
    public async Task<bool> AnythingArrivesWithinAsync(TimeSpan wait)
    {
        // CancelPendingRead leaves the underlying stream read running, so nothing that arrives later is lost.
        using var timer = new Timer(_ => _reader.CancelPendingRead(), null, wait, System.Threading.Timeout.InfiniteTimeSpan);
        var result = await _reader.ReadAsync();
        _reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        return !result.Buffer.IsEmpty;
    }

    public void ShutdownSend() => _socket.Shutdown(SocketShutdown.Send);

    public async ValueTask DisposeAsync()
    {
        await _reader.CompleteAsync();
        await _stream.DisposeAsync();
        _socket.Dispose();
    }
}
