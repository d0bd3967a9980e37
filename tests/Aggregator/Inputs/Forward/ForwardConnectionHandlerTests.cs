using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Aggregator.Inputs.Forward;
using Gateway.Protos.Forward;
using static Gateway.Aggregator.Tests.Inputs.Forward.ForwardFrames;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

public sealed class ForwardConnectionHandlerTests
{
    [Fact]
    public async Task Every_mode_over_tcp_reaches_the_sink_and_is_acked()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions());
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);

        await client.SendAsync(MessageMode("m.tag", "one", "c-message"));
        Assert.Equal("c-message", await client.ReadAckAsync());

        await client.SendAsync(ForwardMode("f.tag", Events(3), 3, "c-forward"));
        Assert.Equal("c-forward", await client.ReadAckAsync());

        var packed = Events(5);
        await client.SendAsync(Packed("p.tag", packed, 5, "c-packed", node: "node-a"));
        Assert.Equal("c-packed", await client.ReadAckAsync());

        await client.SendAsync(Packed("g.tag", Events(4), 4, "c-gzip", ForwardCompression.Gzip));
        Assert.Equal("c-gzip", await client.ReadAckAsync());

        await client.SendAsync(Packed("z.tag", Events(2), 2, "c-zstd", ForwardCompression.Zstd));
        Assert.Equal("c-zstd", await client.ReadAckAsync());

        var chunks = server.Sink.Chunks.ToList();
        Assert.Equal(["m.tag", "f.tag", "p.tag", "g.tag", "z.tag"], chunks.Select(c => c.Tag));
        Assert.Equal([1, 3, 5, 4, 2], chunks.Select(c => c.EventCount));
        Assert.All(chunks, c => Assert.Equal(c.EventCount, CountEvents(c.Events)));
        Assert.Equal(packed, chunks[2].Events.ToArray());
        Assert.Equal("node-a", chunks[2].NodeName);
        Assert.Null(chunks[0].NodeName);
        Assert.Equal(15, server.Metrics.Get("gateway.forward.records_in"));
        Assert.Equal(5, server.Metrics.Get("gateway.forward.messages"));
        Assert.Equal(5, server.Metrics.Get("gateway.forward.acks_sent"));
        Assert.Equal(1, server.Metrics.Get("gateway.forward.connections_total"));
    }

    [Fact]
    public async Task Messages_without_chunk_are_stored_without_ack()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions());
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
        await client.SendAsync(Packed("no.ack", Events(2), 2));
        await client.SendAsync(Packed("with.ack", Events(1), 1, "later"));

        // The only response is the second message's ack.
        Assert.Equal("later", await client.ReadAckAsync());
        Assert.Equal(["no.ack", "with.ack"], server.Sink.Chunks.Select(c => c.Tag));
    }

    [Fact]
    public async Task Messages_sent_right_before_the_peer_closes_are_still_stored()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions());
        for (var i = 0; i < 20; i++)
        {
            await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
            await client.SendAsync(Packed($"fire.and.forget.{i}", Events(2), 2));
            client.ShutdownSend();
            Assert.True(await client.WaitForCloseAsync());
        }

        await server.Sink.WaitForChunksAsync(20);
        Assert.Equal(40, Interlocked.Read(ref server.Sink.EventsStored));
        Assert.Empty(server.Rejections);
    }

    [Fact]
    public async Task Ack_is_sent_only_after_the_sink_stored_the_chunk()
    {
        var sink = new CollectingChunkSink();
        sink.Block();
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions(), sink);
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
        await client.SendAsync(Packed("blocked", Events(3), 3, "wait-for-me"));

        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            while (sink.AppendsStarted == 0)
            {
                await Task.Delay(10, timeout.Token);
            }
        }

        Assert.False(await client.AnythingArrivesWithinAsync(TimeSpan.FromMilliseconds(500)));
        Assert.Empty(sink.Chunks);

        sink.Release();
        Assert.Equal("wait-for-me", await client.ReadAckAsync());
        Assert.Single(sink.Chunks);
    }

    [Fact]
    public async Task Split_delivery_across_many_writes_is_reassembled()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions());
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
        var first = Packed("split.a", Events(50, new string('x', 200)), 50, "a");
        var second = Packed("split.b", Events(1), 1, "b");
        var stream = first.Concat(second).ToArray();
        for (var offset = 0; offset < stream.Length; offset += 997)
        {
            await client.SendAsync(stream[offset..Math.Min(stream.Length, offset + 997)]);
        }

        Assert.Equal("a", await client.ReadAckAsync());
        Assert.Equal("b", await client.ReadAckAsync());
        Assert.Equal([50, 1], server.Sink.Chunks.Select(c => c.EventCount));
    }

    [Fact]
    public async Task Tag_prefix_and_tag_override()
    {
        await using (var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { TagPrefix = "remote." }))
        await using (var client = await ForwardTestClient.ConnectTcpAsync(server.Port))
        {
            await client.SendAsync(Packed("app", Events(1), 1, "1"));
            await client.ReadAckAsync();
            Assert.Equal("remote.app", Assert.Single(server.Sink.Chunks).Tag);
        }

        await using (var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { Tag = "fixed" }))
        await using (var client = await ForwardTestClient.ConnectTcpAsync(server.Port))
        {
            await client.SendAsync(Packed("app", Events(1), 1, "1"));
            await client.ReadAckAsync();
            Assert.Equal("fixed", Assert.Single(server.Sink.Chunks).Tag);
        }
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Unix_socket_with_permissions()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gw-fwd-{Guid.NewGuid():N}.sock");
        try
        {
            await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { UnixPath = path, UnixPermissions = (UnixFileMode)Convert.ToInt32("660", 8) });
            await using var client = await ForwardTestClient.ConnectUnixAsync(path);
            await client.SendAsync(Packed("unix", Events(2), 2, "u"));
            Assert.Equal("u", await client.ReadAckAsync());
            Assert.Equal("unix", Assert.Single(server.Sink.Chunks).Tag);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, File.GetUnixFileMode(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Tls_with_a_generated_certificate()
    {
        var dir = Directory.CreateTempSubdirectory("gw-fwd-tls");
        try
        {
            using var key = RSA.Create(2048);
            var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
            var crt = Path.Combine(dir.FullName, "server.crt");
            var keyFile = Path.Combine(dir.FullName, "server.key");
            await File.WriteAllTextAsync(crt, certificate.ExportCertificatePem());
            await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());

            var options = new ForwardInputOptions { Tls = new ForwardTlsOptions(crt, keyFile, null, false, null) };
            await using var server = await ForwardTestServer.StartAsync(options);
            var thumbprint = certificate.Thumbprint;
            await using var client = await ForwardTestClient.ConnectTlsAsync(server.Port, cert => cert is not null && cert.GetCertHashString() == thumbprint);
            await client.SendAsync(Packed("tls", Events(3), 3, "t"));
            Assert.Equal("t", await client.ReadAckAsync());
            Assert.Equal(3, Assert.Single(server.Sink.Chunks).EventCount);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Shared_key_handshake_accepts_the_right_key()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { SharedKey = "s3cret", SelfHostname = "aggregator" });
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
        var helo = await client.ReadAsync<ForwardHelo>(ForwardHandshake.TryReadHelo);
        var ping = ForwardHandshake.CreatePing(helo, "node-1", "s3cret");
        await client.SendAsync(Write(w => ForwardHandshake.WritePing(w, ping)));
        var pong = await client.ReadAsync<ForwardPong>(ForwardHandshake.TryReadPong);
        Assert.True(ForwardHandshake.CheckPong(pong, ping, helo, "s3cret", out var reason), reason);
        Assert.Equal("aggregator", pong.Hostname);

        await client.SendAsync(Packed("secure", Events(1), 1, "s"));
        Assert.Equal("s", await client.ReadAckAsync());
    }

    [Fact]
    public async Task Wrong_shared_key_gets_a_failure_pong_and_the_connection_is_closed()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { SharedKey = "s3cret" });
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
        var helo = await client.ReadAsync<ForwardHelo>(ForwardHandshake.TryReadHelo);
        var ping = ForwardHandshake.CreatePing(helo, "node-1", "guess");
        await client.SendAsync(Write(w => ForwardHandshake.WritePing(w, ping)));
        var pong = await client.ReadAsync<ForwardPong>(ForwardHandshake.TryReadPong);
        Assert.False(pong.AuthResult);
        Assert.Equal("shared_key mismatch", pong.Reason);
        Assert.True(await client.WaitForCloseAsync());
        Assert.Empty(server.Sink.Chunks);
        Assert.Equal(1, server.Metrics.Get("gateway.forward.connection_errors:unauthenticated"));
        Assert.Contains("shared_key mismatch", Assert.Single(server.Rejections).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Data_before_the_handshake_is_refused()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { SharedKey = "s3cret" });
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
        await client.ReadAsync<ForwardHelo>(ForwardHandshake.TryReadHelo);
        await client.SendIgnoringResetAsync(Packed("sneaky", Events(1), 1, "x"));
        Assert.True(await client.WaitForCloseAsync());
        Assert.Empty(server.Sink.Chunks);
        Assert.Equal(1, server.Metrics.Get("gateway.forward.connection_errors:handshake"));
    }

    [Fact]
    public async Task Peer_that_never_sends_its_ping_is_closed_after_the_handshake_timeout()
    {
        var options = new ForwardInputOptions { SharedKey = "s3cret", HandshakeTimeout = TimeSpan.FromMilliseconds(300) };
        await using var server = await ForwardTestServer.StartAsync(options);
        await using var silent = await ForwardTestClient.ConnectTcpAsync(server.Port);
        await silent.ReadAsync<ForwardHelo>(ForwardHandshake.TryReadHelo);

        // The server hangs up on its own; a well-behaved client on another connection is unaffected.
        Assert.True(await silent.WaitForCloseAsync());
        Assert.Equal(1, server.Metrics.Get("gateway.forward.connection_errors:handshake_timeout"));
        Assert.Contains("no PING within 0.3 s", Assert.Single(server.Rejections).Message, StringComparison.Ordinal);

        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
        var helo = await client.ReadAsync<ForwardHelo>(ForwardHandshake.TryReadHelo);
        await client.SendAsync(Write(w => ForwardHandshake.WritePing(w, ForwardHandshake.CreatePing(helo, "node-1", "s3cret"))));
        Assert.True((await client.ReadAsync<ForwardPong>(ForwardHandshake.TryReadPong)).AuthResult);
    }

    [Theory]
    [InlineData("alice", "wonderland", true)]
    [InlineData("alice", "wrong", false)]
    [InlineData("mallory", "wonderland", false)]
    public async Task Username_and_password_are_checked(string username, string password, bool accepted)
    {
        var options = new ForwardInputOptions { SharedKey = "k", Users = [new ForwardUser("alice", "wonderland"), new ForwardUser("bob", "builder")] };
        await using var server = await ForwardTestServer.StartAsync(options);
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
        var helo = await client.ReadAsync<ForwardHelo>(ForwardHandshake.TryReadHelo);
        Assert.NotEmpty(helo.AuthSalt);
        var ping = ForwardHandshake.CreatePing(helo, "node-1", "k", username, password);
        await client.SendAsync(Write(w => ForwardHandshake.WritePing(w, ping)));
        var pong = await client.ReadAsync<ForwardPong>(ForwardHandshake.TryReadPong);
        Assert.Equal(accepted, pong.AuthResult);
        if (accepted)
        {
            await client.SendAsync(Packed("user", Events(1), 1, "u"));
            Assert.Equal("u", await client.ReadAckAsync());
        }
        else
        {
            Assert.Equal("username/password mismatch", pong.Reason);
            Assert.True(await client.WaitForCloseAsync());
        }
    }

    [Fact]
    public async Task Oversized_message_closes_only_that_connection()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { BufferMaxSize = 64 * 1024 });
        await using var good = await ForwardTestClient.ConnectTcpAsync(server.Port);
        await using var bad = await ForwardTestClient.ConnectTcpAsync(server.Port);
        await bad.SendIgnoringResetAsync(Packed("big", Events(1000, new string('y', 100)), 1000, "big"));
        Assert.True(await bad.WaitForCloseAsync());
        Assert.Equal(1, server.Metrics.Get("gateway.forward.connection_errors:oversized"));

        await good.SendAsync(Packed("small", Events(1), 1, "ok"));
        Assert.Equal("ok", await good.ReadAckAsync());
        Assert.Equal("small", Assert.Single(server.Sink.Chunks).Tag);
    }

    [Fact]
    public async Task Gzip_bomb_is_refused()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { MaxDecompressedSize = 1024 * 1024 });
        await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);

        // 64 MB of one repeated valid event compresses to a few hundred KB.
        var events = Events(1, "z");
        var bomb = new byte[64 * 1024 * 1024 / events.Length * events.Length];
        for (var i = 0; i < bomb.Length; i += events.Length)
        {
            events.CopyTo(bomb, i);
        }

        await client.SendIgnoringResetAsync(Packed("bomb", bomb, bomb.Length / events.Length, "b", ForwardCompression.Gzip));
        Assert.True(await client.WaitForCloseAsync());
        Assert.Equal(1, server.Metrics.Get("gateway.forward.connection_errors:decompressed_too_large"));
        Assert.Empty(server.Sink.Chunks);
    }

    [Fact]
    public async Task Truncated_message_at_close_is_reported_once()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions());
        await using (var client = await ForwardTestClient.ConnectTcpAsync(server.Port))
        {
            var message = Packed("cut", Events(10), 10, "c");
            await client.SendAsync(message[..^5]);
            client.ShutdownSend();
            Assert.True(await client.WaitForCloseAsync());
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (server.Metrics.Get("gateway.forward.connection_errors:truncated") == 0)
        {
            await Task.Delay(10, timeout.Token);
        }

        Assert.Single(server.Rejections);
    }

    internal static byte[] Write(Action<System.Buffers.IBufferWriter<byte>> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        write(buffer);
        return buffer.WrittenSpan.ToArray();
    }
}
