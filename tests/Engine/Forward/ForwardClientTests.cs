using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gateway.Engine.Forward;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Engine.Tests.Forward;

public sealed class ForwardClientTests
{
    private static EventChunk Chunk(string tag, int count) => new(tag, Events(count), count);

    private static byte[] Events(int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = 0; i < count; i++)
        {
            EventWriter.WriteEvent(buffer, new EventTime(1_700_000_000u + (uint)i, 5), [new("log", "line " + i)]);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static ForwardClientOptions Options(int port, bool ack = true, bool gzip = false) => new()
    {
        Endpoints = [new ForwardEndpoint("127.0.0.1", port)],
        RequireAck = ack,
        Compression = gzip ? ForwardCompression.Gzip : ForwardCompression.None,
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
        ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        ConnectTimeout = TimeSpan.FromSeconds(10),
    };

    [Fact]
    public async Task Acked_chunk_is_delivered_with_its_entries_size_and_chunk_id()
    {
        await using var server = new TestForwardServer();
        await using var client = new ForwardClient(Options(server.Port), NullLogger.Instance);
        var entries = Events(3);

        var result = await client.SendAsync(new EventChunk("app.logs", entries, 3), CancellationToken.None);

        Assert.Equal(ForwardSendStatus.Delivered, result.Status);
        var message = Assert.Single(server.Messages);
        Assert.Equal("app.logs", message.Tag);
        Assert.Equal(entries, message.Entries);
        Assert.Equal(3, message.Size);
        Assert.False(string.IsNullOrEmpty(message.ChunkId));
        Assert.Null(message.Compressed);
        Assert.Equal(0, client.PendingCount);
    }

    [Fact]
    public async Task Without_acks_a_written_chunk_is_delivered_without_a_chunk_id()
    {
        await using var server = new TestForwardServer();
        await using var client = new ForwardClient(Options(server.Port, ack: false), NullLogger.Instance);

        var result = await client.SendAsync(Chunk("t", 1), CancellationToken.None);

        Assert.Equal(ForwardSendStatus.Delivered, result.Status);
        await server.WaitUntilAsync(() => server.Messages.Count == 1, "the message");
        var message = Assert.Single(server.Messages);
        Assert.Null(message.ChunkId);
        Assert.Equal(1, message.Size);
    }

    [Fact]
    public async Task Gzip_payload_decodes_to_the_original_entries()
    {
        await using var server = new TestForwardServer();
        await using var client = new ForwardClient(Options(server.Port, gzip: true), NullLogger.Instance);
        var entries = Events(50);

        var result = await client.SendAsync(new EventChunk("gz", entries, 50), CancellationToken.None);

        Assert.Equal(ForwardSendStatus.Delivered, result.Status);
        var message = Assert.Single(server.Messages);
        Assert.Equal("gzip", message.Compressed);
        Assert.Equal(entries, message.Entries);
        Assert.Equal(50, message.Size);
    }

    [Fact]
    public async Task Missing_ack_times_out_into_retry()
    {
        await using var server = new TestForwardServer { ShouldAck = (_, _) => false };
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        await using var client = new ForwardClient(Options(server.Port), NullLogger.Instance, clock);

        var send = client.SendAsync(Chunk("t", 1), CancellationToken.None);
        await server.WaitUntilAsync(() => server.Messages.Count == 1, "the unacked message");
        Assert.False(send.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(31));

        var result = await send.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ForwardSendStatus.Retry, result.Status);
        Assert.Contains("no ack", result.Reason);
        Assert.Equal(0, client.PendingCount);
    }

    [Fact]
    public async Task Server_closing_mid_stream_causes_reconnect_and_resend_of_unacked_chunks()
    {
        await using var server = new TestForwardServer
        {
            // The first connection swallows the first chunk and hangs up without acking.
            CloseAfter = (connection, _) => connection == 1,
        };
        await using var client = new ForwardClient(Options(server.Port), NullLogger.Instance);
        var entries = Events(2);

        var result = await client.SendAsync(new EventChunk("t", entries, 2), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ForwardSendStatus.Delivered, result.Status);
        var messages = server.Messages.ToArray();
        Assert.Equal(2, messages.Length);
        Assert.Equal(1, messages[0].Connection);
        Assert.Equal(2, messages[1].Connection);
        Assert.Equal(messages[0].ChunkId, messages[1].ChunkId);
        Assert.Equal(entries, messages[1].Entries);
        Assert.Equal(2, client.ConnectionCount);
    }

    [Fact]
    public async Task Several_chunks_in_flight_are_each_completed_by_their_own_ack()
    {
        await using var server = new TestForwardServer();
        await using var client = new ForwardClient(Options(server.Port), NullLogger.Instance);

        var sends = Enumerable.Range(0, 20).Select(i => client.SendAsync(Chunk("t" + i, 1), CancellationToken.None)).ToArray();
        var results = await Task.WhenAll(sends).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.All(results, r => Assert.Equal(ForwardSendStatus.Delivered, r.Status));
        Assert.Equal(20, server.Messages.Select(m => m.ChunkId).Distinct().Count());
    }

    [Fact]
    public async Task The_in_flight_window_holds_back_chunks_beyond_its_size()
    {
        await using var server = new TestForwardServer { ShouldAck = (_, message) => message.Tag == "late" };
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var options = new ForwardClientOptions
        {
            Endpoints = [new ForwardEndpoint("127.0.0.1", server.Port)],
            RequireAck = true,
            MaxInFlightChunks = 2,
        };
        await using var client = new ForwardClient(options, NullLogger.Instance, clock);

        var first = client.SendAsync(Chunk("unacked", 1), CancellationToken.None);
        var second = client.SendAsync(Chunk("unacked", 1), CancellationToken.None);
        await server.WaitUntilAsync(() => server.Messages.Count == 2, "two unacked messages");
        var third = client.SendAsync(Chunk("late", 1), CancellationToken.None);

        // The third chunk cannot be on the wire while two are unacknowledged.
        await Task.Delay(200);
        Assert.Equal(2, server.Messages.Count);
        Assert.False(third.IsCompleted);

        // Once the first two time out, the window opens and the third is sent and acked.
        clock.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(ForwardSendStatus.Retry, (await first.WaitAsync(TimeSpan.FromSeconds(30))).Status);
        Assert.Equal(ForwardSendStatus.Retry, (await second.WaitAsync(TimeSpan.FromSeconds(30))).Status);
        Assert.Equal(ForwardSendStatus.Delivered, (await third.WaitAsync(TimeSpan.FromSeconds(30))).Status);
    }

    [Fact]
    public async Task Unreachable_server_gives_retry_without_hanging()
    {
        // Bind and release a port so nothing listens on it.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using var client = new ForwardClient(Options(port), NullLogger.Instance);

        var result = await client.SendAsync(Chunk("t", 1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ForwardSendStatus.Retry, result.Status);
    }

    [Fact]
    public async Task After_a_failed_connect_the_next_attempt_waits_for_the_backoff()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddDays(20000));
        var options = new ForwardClientOptions
        {
            Endpoints = [new ForwardEndpoint("127.0.0.1", port)],
            RequireAck = true,
            ReconnectBaseDelay = TimeSpan.FromSeconds(10),
        };
        await using var client = new ForwardClient(options, NullLogger.Instance, clock);

        var first = await client.SendAsync(Chunk("t", 1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        var second = await client.SendAsync(Chunk("t", 1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(ForwardSendStatus.Retry, first.Status);
        Assert.Contains("cannot connect", first.Reason);
        Assert.Equal(ForwardSendStatus.Retry, second.Status);
        Assert.Contains("next attempt in 10s", second.Reason);

        clock.Advance(TimeSpan.FromSeconds(10));
        var third = await client.SendAsync(Chunk("t", 1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains("cannot connect", third.Reason);
    }

    [Fact]
    public async Task Dispose_completes_waiting_chunks_with_retry()
    {
        await using var server = new TestForwardServer { ShouldAck = (_, _) => false };
        var client = new ForwardClient(Options(server.Port), NullLogger.Instance);
        var send = client.SendAsync(Chunk("t", 1), CancellationToken.None);
        await server.WaitUntilAsync(() => server.Messages.Count == 1, "the message");

        await client.DisposeAsync();

        var result = await send.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ForwardSendStatus.Retry, result.Status);
    }

    [Fact]
    public async Task Secure_forward_handshake_with_shared_key_and_user_delivers()
    {
        await using var server = new TestForwardServer { SharedKey = "s3cret", Users = [new ForwardUser("alice", "pw")] };
        var options = new ForwardClientOptions
        {
            Endpoints = [new ForwardEndpoint("127.0.0.1", server.Port)],
            RequireAck = true,
            SharedKey = "s3cret",
            SelfHostname = "node-1",
            Username = "alice",
            Password = "pw",
        };
        await using var client = new ForwardClient(options, NullLogger.Instance);

        var result = await client.SendAsync(new EventChunk("secure", Events(1), 1, nodeName: "node-1"), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ForwardSendStatus.Delivered, result.Status);
        var ping = Assert.Single(server.AcceptedPings);
        Assert.Equal("node-1", ping.Hostname);
        Assert.Equal("alice", ping.Username);
        Assert.Equal("node-1", Assert.Single(server.Messages).Node);
    }

    [Fact]
    public async Task Wrong_shared_key_is_a_retry_naming_the_refusal()
    {
        await using var server = new TestForwardServer { SharedKey = "right" };
        var options = new ForwardClientOptions
        {
            Endpoints = [new ForwardEndpoint("127.0.0.1", server.Port)],
            RequireAck = true,
            SharedKey = "wrong",
        };
        await using var client = new ForwardClient(options, NullLogger.Instance);

        var result = await client.SendAsync(Chunk("t", 1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ForwardSendStatus.Retry, result.Status);
        Assert.Contains("shared_key mismatch", result.Reason);
        Assert.Empty(server.Messages);
    }

    private static X509Certificate2 SelfSignedServerCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gateway-test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(1));

        // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    private static ForwardClientOptions TlsOptions(int port, bool verify, string? caFile) => new()
    {
        Endpoints = [new ForwardEndpoint("127.0.0.1", port)],
        RequireAck = true,
        Tls = true,
        TlsVerify = verify,
        TlsCaFile = caFile,
    };

    [Fact]
    public async Task Tls_with_the_servers_certificate_as_ca_file_delivers()
    {
        using var certificate = SelfSignedServerCertificate();
        var caFile = Path.Combine(Path.GetTempPath(), "gw-ca-" + Guid.NewGuid().ToString("N") + ".pem");
        await File.WriteAllTextAsync(caFile, certificate.ExportCertificatePem());
        try
        {
            await using var server = new TestForwardServer { Certificate = certificate };
            await using var client = new ForwardClient(TlsOptions(server.Port, verify: true, caFile), NullLogger.Instance);

            var result = await client.SendAsync(Chunk("tls", 2), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.Equal(ForwardSendStatus.Delivered, result.Status);
            Assert.Equal("tls", Assert.Single(server.Messages).Tag);
        }
        finally
        {
            File.Delete(caFile);
        }
    }

    [Fact]
    public async Task Tls_verify_rejects_an_untrusted_certificate_and_verify_off_accepts_it()
    {
        using var certificate = SelfSignedServerCertificate();
        await using var server = new TestForwardServer { Certificate = certificate };

        await using (var strict = new ForwardClient(TlsOptions(server.Port, verify: true, caFile: null), NullLogger.Instance))
        {
            var refused = await strict.SendAsync(Chunk("t", 1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(ForwardSendStatus.Retry, refused.Status);
            Assert.Contains("TLS", refused.Reason);
        }

        await using var lax = new ForwardClient(TlsOptions(server.Port, verify: false, caFile: null), NullLogger.Instance);
        var accepted = await lax.SendAsync(Chunk("t", 1), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ForwardSendStatus.Delivered, accepted.Status);
    }

    [Fact]
    public void Invalid_options_are_rejected_with_a_reason()
    {
        var options = new ForwardClientOptions { Endpoints = [new ForwardEndpoint("h", 0)] };
        var ex = Assert.Throws<ArgumentException>(() => new ForwardClient(options, NullLogger.Instance));
        Assert.Contains("invalid endpoint", ex.Message);
    }
}
