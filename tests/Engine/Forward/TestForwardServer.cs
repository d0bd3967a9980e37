using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Gateway.Protos.Forward;
using Gateway.Tests.Shared;
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
    private readonly LoopbackTcpServer _server;

    public TestForwardServer()
    {
        _server = new LoopbackTcpServer(ServeAsync);
    }

    public int Port => _server.Port;

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

    public int ConnectionCount => _server.ConnectionCount;

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

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(TcpClient client, int connection, CancellationToken stopping)
    {
        try
        {
            Stream stream = client.GetStream();
            if (Certificate is not null)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = Certificate }, stopping);
                stream = ssl;
            }

            using var reader = new MessagePackStreamReader(stream, leaveOpen: true);
            if (SharedKey is not null && !await HandshakeAsync(stream, reader, stopping))
            {
                return;
            }

            while (!stopping.IsCancellationRequested)
            {
                var frame = await reader.ReadAsync(stopping);
                if (frame is null)
                {
                    return;
                }

                var message = Decode(connection, frame.Value);
                Messages.Enqueue(message);
                if (CloseAfter(connection, message))
                {
                    client.Client.Shutdown(SocketShutdown.Both);
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
                    await stream.WriteAsync(ack.WrittenMemory, stopping);
                }
            }
        }
        catch (System.Security.Authentication.AuthenticationException)
        {
            // a client that failed TLS: the connection ends, as for any other end of connection
        }
    }

    private async Task<bool> HandshakeAsync(Stream stream, MessagePackStreamReader reader, CancellationToken stopping)
    {
        var helo = ForwardHandshake.CreateHelo(Users.Count > 0);
        var buffer = new ArrayBufferWriter<byte>();
        ForwardHandshake.WriteHelo(buffer, helo);
        await stream.WriteAsync(buffer.WrittenMemory, stopping);
        var frame = await reader.ReadAsync(stopping);
        if (frame is null || ForwardHandshake.TryReadPing(frame.Value, out var ping, out _, out _) != ForwardReadStatus.Ok || ping is null)
        {
            return false;
        }

        buffer.Clear();
        var accepted = ForwardHandshake.CheckPing(ping, helo, SharedKey!, Users, out var reason);
        ForwardHandshake.WritePong(buffer, accepted
            ? ForwardHandshake.CreatePong(ping, helo, "test-server", SharedKey!)
            : ForwardHandshake.CreateFailurePong(reason));
        await stream.WriteAsync(buffer.WrittenMemory, stopping);
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
