using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Gateway.Protos.Forward;
using MessagePack;

namespace Gateway.Engine.Tests.Forward;

/// <summary>One message as the test server decoded it.</summary>
internal sealed record ReceivedForwardMessage(int Connection, string Tag, byte[] Entries, int? Size, string? ChunkId, string? Compressed, int ArrayLength, string? Node);

/// <summary>
/// A minimal Fluent Forward server on 127.0.0.1 for client tests: decodes PackedForward messages with
/// MessagePackReader, records them, and acks (or not) as the test decides per connection.
/// </summary>
internal sealed class TestForwardServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly List<TcpClient> _clients = [];
    private int _connections;

    public TestForwardServer()
    {
        _listener.Start();
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Decides per message whether to ack: (connection number starting at 1, message) → ack?</summary>
    public Func<int, ReceivedForwardMessage, bool> ShouldAck { get; set; } = (_, _) => true;

    /// <summary>When it returns true after a message, the server closes that connection without acking.</summary>
    public Func<int, ReceivedForwardMessage, bool> CloseAfter { get; set; } = (_, _) => false;

    public ConcurrentQueue<ReceivedForwardMessage> Messages { get; } = new();

    /// <summary>When set, every connection starts with the secure-forward handshake (HELO/PING/PONG).</summary>
    public string? SharedKey { get; init; }

    public IReadOnlyList<ForwardUser> Users { get; init; } = [];

    /// <summary>When set, connections are TLS with this server certificate.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>PINGs the server accepted.</summary>
    public ConcurrentQueue<ForwardPing> AcceptedPings { get; } = new();

    public int ConnectionCount => Volatile.Read(ref _connections);

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        for (var i = 0; i < 3000; i++)
        {
            if (condition())
            {
                return;
            }

            await Task.Delay(10);
        }

        throw new TimeoutException($"test server: timed out waiting for {what}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        lock (_clients)
        {
            foreach (var client in _clients)
            {
                client.Dispose();
            }
        }

        try
        {
            await _acceptLoop;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // stopping
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
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            lock (_clients)
            {
                _clients.Add(client);
            }

            var number = Interlocked.Increment(ref _connections);
            _ = Task.Run(() => ServeAsync(client, number));
        }
    }

    private async Task ServeAsync(TcpClient client, int connection)
    {
        try
        {
            Stream stream = client.GetStream();
            if (Certificate is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = Certificate }, _stop.Token);
                stream = ssl;
            }

            using var reader = new MessagePackStreamReader(stream, leaveOpen: true);
            if (SharedKey is not null && !await HandshakeAsync(stream, reader))
            {
                client.Dispose();
                return;
            }

            while (!_stop.IsCancellationRequested)
            {
                var frame = await reader.ReadAsync(_stop.Token);
                if (frame is null)
                {
                    return;
                }

                var message = Decode(connection, frame.Value);
                Messages.Enqueue(message);
                if (CloseAfter(connection, message))
                {
                    client.Client.Shutdown(SocketShutdown.Both);
                    client.Dispose();
                    return;
                }

                if (message.ChunkId is not null && ShouldAck(connection, message))
                {
                    var ack = new ArrayBufferWriter<byte>();
                    var writer = new MessagePackWriter(ack);
                    writer.WriteMapHeader(1);
                    writer.Write("ack");
                    writer.Write(message.ChunkId);
                    writer.Flush();
                    await stream.WriteAsync(ack.WrittenMemory, _stop.Token);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            // connection ended
        }
    }

    private async Task<bool> HandshakeAsync(Stream stream, MessagePackStreamReader reader)
    {
        var helo = ForwardHandshake.CreateHelo(Users.Count > 0);
        var buffer = new ArrayBufferWriter<byte>();
        ForwardHandshake.WriteHelo(buffer, helo);
        await stream.WriteAsync(buffer.WrittenMemory, _stop.Token);
        var frame = await reader.ReadAsync(_stop.Token);
        if (frame is null || ForwardHandshake.TryReadPing(frame.Value, out var ping, out _, out _) != ForwardReadStatus.Ok || ping is null)
        {
            return false;
        }

        buffer.Clear();
        var accepted = ForwardHandshake.CheckPing(ping, helo, SharedKey!, Users, out var reason);
        ForwardHandshake.WritePong(buffer, accepted
            ? ForwardHandshake.CreatePong(ping, helo, "test-server", SharedKey!)
            : ForwardHandshake.CreateFailurePong(reason));
        await stream.WriteAsync(buffer.WrittenMemory, _stop.Token);
        if (accepted)
        {
            AcceptedPings.Enqueue(ping);
        }

        return accepted;
    }

    private static ReceivedForwardMessage Decode(int connection, ReadOnlySequence<byte> frame)
    {
        var reader = new MessagePackReader(frame);
        var length = reader.ReadArrayHeader();
        var tag = reader.ReadString()!;
        var entries = reader.NextMessagePackType == MessagePackType.Binary
            ? reader.ReadBytes()!.Value.ToArray()
            : reader.ReadStringSequence()!.Value.ToArray();
        int? size = null;
        string? chunk = null;
        string? compressed = null;
        string? node = null;
        if (length >= 3)
        {
            var count = reader.ReadMapHeader();
            for (var i = 0; i < count; i++)
            {
                switch (reader.ReadString())
                {
                    case "size":
                        size = reader.ReadInt32();
                        break;
                    case "chunk":
                        chunk = reader.ReadString();
                        break;
                    case "compressed":
                        compressed = reader.ReadString();
                        break;
                    case "node":
                        node = reader.ReadString();
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }

        if (compressed == "gzip")
        {
            using var gzip = new GZipStream(new MemoryStream(entries), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            entries = plain.ToArray();
        }

        return new ReceivedForwardMessage(connection, tag, entries, size, chunk, compressed, length, node);
    }
}
