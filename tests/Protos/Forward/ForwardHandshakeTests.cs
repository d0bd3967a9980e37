using System.Buffers;
using Gateway.Protos.Forward;

namespace Gateway.Protos.Tests.Forward;

public sealed class ForwardHandshakeTests
{
    private static readonly byte[] Salt = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
    private static readonly byte[] Nonce = Enumerable.Range(16, 16).Select(i => (byte)i).ToArray();
    private static readonly byte[] AuthSalt = Enumerable.Range(32, 16).Select(i => (byte)i).ToArray();

    // Vectors computed independently with Python:
    //   salt=bytes(range(16)); nonce=bytes(range(16,32)); asalt=bytes(range(32,48))
    //   hashlib.sha512(salt + b'client.example' + nonce + b'secret-key').hexdigest()
    //   hashlib.sha512(salt + b'aggregator-0' + nonce + b'secret-key').hexdigest()
    //   hashlib.sha512(asalt + b'alice' + 'pässword'.encode()).hexdigest()
    private const string ClientDigest = "1e835dcdb7aaa42c78c48ddaa250d31d7d1eeff33721e726219325fcad5d1201ae6a0ece3c0ff658881896e45bad70880da71ca53a0b4f2431b05fa1fc199cb0";
    private const string ServerDigest = "d239f7b1c725b3f901080cd29ddc2f15b0315b653a0a9287d1b55da6c9675ea44ad4c6d97b8ac80e7ca62b351fadb9e6ca7144f0d343c296b705b613ed1a0d6a";
    private const string PasswordDigest = "f7130533ba37ddcd91563248fc47f768160c9563c6357812b91bed6cd47b56b32dd5fdf42c2127b79f3c9e538e05db074fbfd72c358a90ad02fb0ba941b75022";

    [Fact]
    public void Shared_key_digest_matches_fluentd_formula()
    {
        Assert.Equal(ClientDigest, ForwardHandshake.SharedKeyDigest(Salt, "client.example", Nonce, "secret-key"));
        Assert.Equal(ServerDigest, ForwardHandshake.SharedKeyDigest(Salt, "aggregator-0", Nonce, "secret-key"));
    }

    [Fact]
    public void Password_digest_matches_fluentd_formula()
    {
        Assert.Equal(PasswordDigest, ForwardHandshake.PasswordDigest(AuthSalt, "alice", "pässword"));
    }

    [Fact]
    public void Full_handshake_round_trips_through_the_wire_format()
    {
        var users = new[] { new ForwardUser("alice", "pässword") };
        var helo = ForwardHandshake.CreateHelo(requireUserAuth: true);
        var heloOnWire = Roundtrip<ForwardHelo>(w => ForwardHandshake.WriteHelo(w, helo), ForwardHandshake.TryReadHelo);
        Assert.Equal(helo.Nonce, heloOnWire.Nonce);
        Assert.Equal(helo.AuthSalt, heloOnWire.AuthSalt);
        Assert.True(heloOnWire.KeepAlive);

        var ping = ForwardHandshake.CreatePing(heloOnWire, "node-a", "secret-key", "alice", "pässword");
        var pingOnWire = Roundtrip<ForwardPing>(w => ForwardHandshake.WritePing(w, ping), ForwardHandshake.TryReadPing);
        Assert.Equal(ping, pingOnWire with { SharedKeySalt = ping.SharedKeySalt });
        Assert.Equal(ping.SharedKeySalt, pingOnWire.SharedKeySalt);

        Assert.True(ForwardHandshake.CheckPing(pingOnWire, helo, "secret-key", users, out var reason), reason);
        var pong = ForwardHandshake.CreatePong(pingOnWire, helo, "aggregator-0", "secret-key");
        var pongOnWire = Roundtrip<ForwardPong>(w => ForwardHandshake.WritePong(w, pong), ForwardHandshake.TryReadPong);
        Assert.True(ForwardHandshake.CheckPong(pongOnWire, ping, heloOnWire, "secret-key", out reason), reason);
    }

    [Fact]
    public void Wrong_shared_key_or_password_is_refused_with_fluentd_reasons()
    {
        var users = new[] { new ForwardUser("alice", "right") };
        var helo = ForwardHandshake.CreateHelo(requireUserAuth: true);

        var badKey = ForwardHandshake.CreatePing(helo, "node-a", "wrong-key", "alice", "right");
        Assert.False(ForwardHandshake.CheckPing(badKey, helo, "secret-key", users, out var reason));
        Assert.Equal("shared_key mismatch", reason);

        var badPassword = ForwardHandshake.CreatePing(helo, "node-a", "secret-key", "alice", "wrong");
        Assert.False(ForwardHandshake.CheckPing(badPassword, helo, "secret-key", users, out reason));
        Assert.Equal("username/password mismatch", reason);

        var failure = ForwardHandshake.CreateFailurePong(reason);
        Assert.False(ForwardHandshake.CheckPong(failure, badPassword, helo, "secret-key", out var clientReason));
        Assert.Contains("username/password mismatch", clientReason, StringComparison.Ordinal);
    }

    [Fact]
    public void Pong_from_a_server_without_the_key_is_refused_by_the_client()
    {
        var helo = ForwardHandshake.CreateHelo(requireUserAuth: false);
        var ping = ForwardHandshake.CreatePing(helo, "node-a", "secret-key");
        Assert.Equal(string.Empty, ping.Username);
        var forged = ForwardHandshake.CreatePong(ping, helo, "aggregator-0", "other-key");
        Assert.False(ForwardHandshake.CheckPong(forged, ping, helo, "secret-key", out var reason));
        Assert.Equal("shared key mismatch", reason);
    }

    [Fact]
    public void Handshake_reader_waits_for_the_whole_message_and_rejects_garbage()
    {
        var buffer = new ArrayBufferWriter<byte>();
        ForwardHandshake.WriteHelo(buffer, ForwardHandshake.CreateHelo(true));
        var bytes = buffer.WrittenMemory;
        for (var i = 0; i < bytes.Length; i++)
        {
            Assert.Equal(ForwardReadStatus.NeedMoreData, ForwardHandshake.TryReadHelo(new ReadOnlySequence<byte>(bytes[..i]), out _, out _, out _));
        }

        Assert.Equal(ForwardReadStatus.Error, ForwardHandshake.TryReadPing(new ReadOnlySequence<byte>(bytes), out _, out _, out var error));
        Assert.Contains("invalid ping", error, StringComparison.Ordinal);
        Assert.Equal(ForwardReadStatus.Error, ForwardHandshake.TryReadPing(new ReadOnlySequence<byte>([0xc1]), out _, out _, out _));
        Assert.Equal(ForwardReadStatus.Error, ForwardHandshake.TryReadPing(new ReadOnlySequence<byte>([0xc6, 0xff, 0xff, 0xff, 0xff]), out _, out _, out _));
    }

    private delegate ForwardReadStatus Reader<T>(in ReadOnlySequence<byte> buffer, out T? value, out long consumed, out string? error);

    private static T Roundtrip<T>(Action<IBufferWriter<byte>> write, Reader<T> read)
        where T : class
    {
        var buffer = new ArrayBufferWriter<byte>();
        write(buffer);
        var status = read(new ReadOnlySequence<byte>(buffer.WrittenMemory), out var value, out var consumed, out var error);
        Assert.True(status == ForwardReadStatus.Ok, error);
        Assert.Equal(buffer.WrittenCount, consumed);
        return value!;
    }
}
