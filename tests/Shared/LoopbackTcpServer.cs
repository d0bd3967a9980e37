using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Gateway.Tests.Shared;

/// <summary>
/// The listening half of every raw-TCP test server (forward receivers, the IMDS fake): 127.0.0.1 only, an ephemeral
/// port, each accepted connection handed to the server's handler on its own task and numbered from 1. Disposing
/// stops accepting, closes the connections still open and waits, at most <see cref="StopTimeout"/>, for the handlers
/// to return. A connection ending (reset, closed, cancelled) is normal; any other exception a handler throws is
/// rethrown by <see cref="DisposeAsync"/>, so a fake that chokes fails its test instead of going quiet.
/// </summary>
internal sealed class LoopbackTcpServer : IAsyncDisposable
{
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(10);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<TcpClient, int, CancellationToken, Task> _serve;
    private readonly Dictionary<TcpClient, Task> _open = [];
    private readonly ConcurrentQueue<Exception> _faults = new();
    private readonly Task _acceptLoop;
    private int _connections;

    /// <param name="serve">Handles one connection: (client, connection number, stopping token). The client is disposed after it returns.</param>
    public LoopbackTcpServer(Func<TcpClient, int, CancellationToken, Task> serve)
    {
        _serve = serve;
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>Cancelled when the server stops.</summary>
    public CancellationToken Stopping => _stop.Token;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] running;
        lock (_open)
        {
            foreach (var client in _open.Keys)
            {
                client.Dispose();
            }

            running = [_acceptLoop, .. _open.Values];
        }

        await Task.WhenAll(running).WaitAsync(StopTimeout);
        if (!_faults.IsEmpty)
        {
            throw new AggregateException("a test server's connection handler failed", _faults);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (IsConnectionEnd(ex))
            {
                return;
            }

            var number = Interlocked.Increment(ref _connections);
            lock (_open)
            {
                // Started under the lock so the handler's own removal (below) always finds its entry.
                _open[client] = Task.Run(() => ServeAsync(client, number));
            }
        }
    }

    private async Task ServeAsync(TcpClient client, int number)
    {
        try
        {
            await _serve(client, number, _stop.Token);
        }
        catch (Exception ex) when (IsConnectionEnd(ex))
        {
            // The peer went away or the server is stopping.
        }
        catch (Exception ex)
        {
            _faults.Enqueue(ex);
        }
        finally
        {
            client.Dispose();
            lock (_open)
            {
                _open.Remove(client);
            }
        }
    }

    private static bool IsConnectionEnd(Exception ex) =>
        ex is OperationCanceledException or IOException or SocketException or ObjectDisposedException;
}
