using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using MessagePack;

namespace Gateway.Protos.Forward;

/// <summary>Outcome of reading one message from a buffer that may not hold all of it yet.</summary>
public enum ForwardReadStatus
{
    NeedMoreData,
    Ok,
    Error,
}

/// <summary>A user of the secure forward handshake (<c>Security.Users</c> / fluentd <c>&lt;user&gt;</c>).</summary>
public sealed record ForwardUser(string Username, string Password);

/// <summary>
/// The server's greeting: <c>["HELO", {"nonce": bytes, "auth": salt-or-empty, "keepalive": bool}]</c>.
/// An empty <see cref="AuthSalt"/> means the server does not ask for username/password.
/// </summary>
public sealed record ForwardHelo(byte[] Nonce, byte[] AuthSalt, bool KeepAlive);

/// <summary>
/// The client's answer: <c>["PING", self_hostname, shared_key_salt, sha512_hex(shared_key_salt + self_hostname +
/// nonce + shared_key), username, sha512_hex(auth_salt + username + password)]</c>; username and password digest
/// are empty strings when the server sent no auth salt.
/// </summary>
public sealed record ForwardPing(string Hostname, byte[] SharedKeySalt, string SharedKeyDigest, string Username, string PasswordDigest);

/// <summary>
/// The server's verdict: <c>["PONG", auth_result, reason, self_hostname, sha512_hex(shared_key_salt +
/// self_hostname + nonce + shared_key)]</c>; on failure hostname and digest are empty.
/// </summary>
public sealed record ForwardPong(bool AuthResult, string Reason, string Hostname, string SharedKeyDigest);

/// <summary>
/// Fluent Forward "secure forward" handshake (HELO / PING / PONG), byte-compatible with Fluentd's in_forward /
/// out_forward and Fluent Bit's in_forward / out_forward. Both sides use it: the aggregator's forward input as
/// server, forward outputs and the shipper as client.
/// Digests are lowercase hex SHA-512 over the plain concatenation of the parts' bytes (strings as UTF-8, salts
/// and nonce as raw bytes), in exactly the order of the reference implementations.
/// </summary>
public static class ForwardHandshake
{
    /// <summary>Fluentd and Fluent Bit both use 16 random bytes for nonce and salts.</summary>
    public const int NonceSize = 16;

    /// <summary>Handshake messages are tiny; anything larger is hostile.</summary>
    public const int MaxHandshakeMessageBytes = 64 * 1024;

    /// <summary>sha512_hex(shared_key_salt + hostname + nonce + shared_key): the PING digest (client hostname) and the PONG digest (server hostname).</summary>
    public static string SharedKeyDigest(ReadOnlySpan<byte> sharedKeySalt, string hostname, ReadOnlySpan<byte> nonce, string sharedKey)
    {
        ArgumentNullException.ThrowIfNull(hostname);
        ArgumentNullException.ThrowIfNull(sharedKey);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        hash.AppendData(sharedKeySalt);
        AppendUtf8(hash, hostname);
        hash.AppendData(nonce);
        AppendUtf8(hash, sharedKey);
        return FinishHex(hash);
    }

    /// <summary>sha512_hex(auth_salt + username + password): the PING password digest.</summary>
    public static string PasswordDigest(ReadOnlySpan<byte> authSalt, string username, string password)
    {
        ArgumentNullException.ThrowIfNull(username);
        ArgumentNullException.ThrowIfNull(password);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA512);
        hash.AppendData(authSalt);
        AppendUtf8(hash, username);
        AppendUtf8(hash, password);
        return FinishHex(hash);
    }

    // Nonce and salts go out as msgpack str. A client that decodes str as UTF-8 (@fluent-org/logger, Python with
    // raw=False) would mangle arbitrary bytes and then hash different ones than we did, so the 16 bytes are drawn
    // from printable ASCII: identical under every decoding, and still ~95 bits of randomness.
    private static ReadOnlySpan<byte> NonceAlphabet => "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"u8;

    /// <summary>16 fresh random printable-ASCII bytes for a nonce or salt.</summary>
    public static byte[] NewNonce() => RandomNumberGenerator.GetItems(NonceAlphabet, NonceSize);

    /// <summary>Server side: a HELO with a fresh nonce and, when users are configured, a fresh auth salt.</summary>
    public static ForwardHelo CreateHelo(bool requireUserAuth, bool keepAlive = true) =>
        new(NewNonce(), requireUserAuth ? NewNonce() : [], keepAlive);

    /// <summary>Client side: the PING answering <paramref name="helo"/>, with a fresh shared key salt.</summary>
    public static ForwardPing CreatePing(ForwardHelo helo, string selfHostname, string sharedKey, string? username = null, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(helo);
        var salt = NewNonce();
        var digest = SharedKeyDigest(salt, selfHostname, helo.Nonce, sharedKey);

        // Fluentd sends empty username/digest when the server did not ask for user auth (empty auth salt).
        if (helo.AuthSalt.Length == 0 || username is null)
        {
            return new ForwardPing(selfHostname, salt, digest, string.Empty, string.Empty);
        }

        return new ForwardPing(selfHostname, salt, digest, username, PasswordDigest(helo.AuthSalt, username, password ?? string.Empty));
    }

    /// <summary>
    /// Server side: checks a PING against the nonce and salt of the HELO this connection was sent. Returns false
    /// with the reason to put in the failure PONG (same wording as Fluentd).
    /// </summary>
    public static bool CheckPing(ForwardPing ping, ForwardHelo helo, string sharedKey, IReadOnlyList<ForwardUser> users, out string reason)
    {
        ArgumentNullException.ThrowIfNull(ping);
        ArgumentNullException.ThrowIfNull(helo);
        ArgumentNullException.ThrowIfNull(users);
        var expected = SharedKeyDigest(ping.SharedKeySalt, ping.Hostname, helo.Nonce, sharedKey);
        if (!FixedTimeEquals(expected, ping.SharedKeyDigest))
        {
            reason = "shared_key mismatch";
            return false;
        }

        if (users.Count > 0)
        {
            var found = false;
            foreach (var user in users)
            {
                if (string.Equals(user.Username, ping.Username, StringComparison.Ordinal) &&
                    FixedTimeEquals(PasswordDigest(helo.AuthSalt, user.Username, user.Password), ping.PasswordDigest))
                {
                    found = true;
                }
            }

            if (!found)
            {
                reason = "username/password mismatch";
                return false;
            }
        }

        reason = string.Empty;
        return true;
    }

    /// <summary>Server side: the PONG for a PING that passed <see cref="CheckPing"/>.</summary>
    public static ForwardPong CreatePong(ForwardPing ping, ForwardHelo helo, string serverHostname, string sharedKey)
    {
        ArgumentNullException.ThrowIfNull(ping);
        ArgumentNullException.ThrowIfNull(helo);
        return new ForwardPong(true, string.Empty, serverHostname, SharedKeyDigest(ping.SharedKeySalt, serverHostname, helo.Nonce, sharedKey));
    }

    /// <summary>Server side: the PONG refusing a PING.</summary>
    public static ForwardPong CreateFailurePong(string reason) => new(false, reason, string.Empty, string.Empty);

    /// <summary>
    /// Client side: checks the server's PONG. Like Fluentd's out_forward it refuses a server that claims the
    /// client's own hostname (a loop / misconfiguration) and a digest that does not prove knowledge of the key.
    /// </summary>
    public static bool CheckPong(ForwardPong pong, ForwardPing ping, ForwardHelo helo, string sharedKey, out string reason)
    {
        ArgumentNullException.ThrowIfNull(pong);
        ArgumentNullException.ThrowIfNull(ping);
        ArgumentNullException.ThrowIfNull(helo);
        if (!pong.AuthResult)
        {
            reason = $"authentication failed: {pong.Reason}";
            return false;
        }

        if (string.Equals(pong.Hostname, ping.Hostname, StringComparison.Ordinal))
        {
            reason = "same hostname between input and output: invalid configuration";
            return false;
        }

        var expected = SharedKeyDigest(ping.SharedKeySalt, pong.Hostname, helo.Nonce, sharedKey);
        if (!FixedTimeEquals(expected, pong.SharedKeyDigest))
        {
            reason = "shared key mismatch";
            return false;
        }

        reason = string.Empty;
        return true;
    }

    public static void WriteHelo(IBufferWriter<byte> output, ForwardHelo helo)
    {
        ArgumentNullException.ThrowIfNull(helo);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(2);
        writer.Write("HELO");
        writer.WriteMapHeader(3);
        writer.Write("nonce");

        // Fluent Bit writes nonce and salt as str; our values are ASCII (see NewNonce), so every client reads the same bytes.
        writer.WriteString(helo.Nonce);
        writer.Write("auth");
        writer.WriteString(helo.AuthSalt);
        writer.Write("keepalive");
        writer.Write(helo.KeepAlive);
        writer.Flush();
    }

    public static void WritePing(IBufferWriter<byte> output, ForwardPing ping)
    {
        ArgumentNullException.ThrowIfNull(ping);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(6);
        writer.Write("PING");
        writer.Write(ping.Hostname);

        // Fluent Bit's in_forward insists on str for the salt; Fluentd accepts str too.
        writer.WriteString(ping.SharedKeySalt);
        writer.Write(ping.SharedKeyDigest);
        writer.Write(ping.Username);
        writer.Write(ping.PasswordDigest);
        writer.Flush();
    }

    public static void WritePong(IBufferWriter<byte> output, ForwardPong pong)
    {
        ArgumentNullException.ThrowIfNull(pong);
        var writer = new MessagePackWriter(output);
        writer.WriteArrayHeader(5);
        writer.Write("PONG");
        writer.Write(pong.AuthResult);
        writer.Write(pong.Reason);
        writer.Write(pong.Hostname);
        writer.Write(pong.SharedKeyDigest);
        writer.Flush();
    }

    public static ForwardReadStatus TryReadHelo(in ReadOnlySequence<byte> buffer, out ForwardHelo? helo, out long consumed, out string? error)
    {
        helo = null;
        var status = TryFrame(buffer, out var frame, out consumed, out error);
        if (status != ForwardReadStatus.Ok)
        {
            return status;
        }

        try
        {
            var reader = new MessagePackReader(frame);
            if (reader.ReadArrayHeader() != 2 || !IsString(ref reader, "HELO"))
            {
                return Fail("expected [\"HELO\", options]", out error);
            }

            if (reader.NextMessagePackType != MessagePackType.Map)
            {
                return Fail("HELO options are not a map", out error);
            }

            byte[]? nonce = null;
            byte[] auth = [];
            var keepAlive = true;
            var count = reader.ReadMapHeader();
            for (var i = 0; i < count; i++)
            {
                var key = reader.NextMessagePackType == MessagePackType.String ? reader.ReadString() : null;
                if (key is null)
                {
                    reader.Skip();
                    reader.Skip();
                    continue;
                }

                switch (key)
                {
                    case "nonce":
                        nonce = ReadBytes(ref reader);
                        break;
                    case "auth":
                        auth = ReadBytes(ref reader) ?? [];
                        break;
                    case "keepalive":
                        if (reader.NextMessagePackType == MessagePackType.Boolean)
                        {
                            keepAlive = reader.ReadBoolean();
                        }
                        else
                        {
                            reader.Skip();
                        }

                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }

            if (nonce is null || nonce.Length == 0)
            {
                return Fail("HELO has no nonce", out error);
            }

            helo = new ForwardHelo(nonce, auth, keepAlive);
            return ForwardReadStatus.Ok;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException)
        {
            return Fail($"malformed HELO: {ex.Message}", out error);
        }
    }

    public static ForwardReadStatus TryReadPing(in ReadOnlySequence<byte> buffer, out ForwardPing? ping, out long consumed, out string? error)
    {
        ping = null;
        var status = TryFrame(buffer, out var frame, out consumed, out error);
        if (status != ForwardReadStatus.Ok)
        {
            return status;
        }

        try
        {
            var reader = new MessagePackReader(frame);
            if (reader.ReadArrayHeader() != 6 || !IsString(ref reader, "PING"))
            {
                return Fail("invalid ping message: expected [\"PING\", hostname, salt, digest, username, password_digest]", out error);
            }

            var hostname = ReadText(ref reader);
            var salt = ReadBytes(ref reader);
            var digest = ReadText(ref reader);
            var username = ReadText(ref reader);
            var passwordDigest = ReadText(ref reader);
            if (hostname is null || salt is null || digest is null || username is null || passwordDigest is null)
            {
                return Fail("invalid ping message: a field has the wrong type", out error);
            }

            ping = new ForwardPing(hostname, salt, digest, username, passwordDigest);
            return ForwardReadStatus.Ok;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException)
        {
            return Fail($"malformed PING: {ex.Message}", out error);
        }
    }

    public static ForwardReadStatus TryReadPong(in ReadOnlySequence<byte> buffer, out ForwardPong? pong, out long consumed, out string? error)
    {
        pong = null;
        var status = TryFrame(buffer, out var frame, out consumed, out error);
        if (status != ForwardReadStatus.Ok)
        {
            return status;
        }

        try
        {
            var reader = new MessagePackReader(frame);
            if (reader.ReadArrayHeader() != 5 || !IsString(ref reader, "PONG"))
            {
                return Fail("invalid pong message: expected [\"PONG\", auth_result, reason, hostname, digest]", out error);
            }

            if (reader.NextMessagePackType != MessagePackType.Boolean)
            {
                return Fail("invalid pong message: auth result is not a boolean", out error);
            }

            var result = reader.ReadBoolean();
            var reason = ReadText(ref reader);
            var hostname = ReadText(ref reader);
            var digest = ReadText(ref reader);
            if (reason is null || hostname is null || digest is null)
            {
                return Fail("invalid pong message: a field has the wrong type", out error);
            }

            pong = new ForwardPong(result, reason, hostname, digest);
            return ForwardReadStatus.Ok;
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException)
        {
            return Fail($"malformed PONG: {ex.Message}", out error);
        }
    }

    private static ForwardReadStatus TryFrame(in ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> frame, out long consumed, out string? error)
    {
        frame = default;
        consumed = 0;
        error = null;
        var scanner = new MessagePackFrameScanner(MaxHandshakeMessageBytes, maxDepth: 8);
        switch (scanner.Scan(buffer))
        {
            case FrameScanStatus.Incomplete:
                return ForwardReadStatus.NeedMoreData;
            case FrameScanStatus.Error:
                error = scanner.Error;
                return ForwardReadStatus.Error;
        }

        if (scanner.FirstByte is not (>= 0x90 and <= 0x9f or 0xdc or 0xdd))
        {
            error = "handshake message is not a msgpack array";
            return ForwardReadStatus.Error;
        }

        consumed = scanner.FrameLength;
        frame = buffer.Slice(0, consumed);
        return ForwardReadStatus.Ok;
    }

    private static ForwardReadStatus Fail(string message, out string? error)
    {
        error = message;
        return ForwardReadStatus.Error;
    }

    private static bool IsString(ref MessagePackReader reader, string expected) =>
        reader.NextMessagePackType == MessagePackType.String && reader.ReadString() == expected;

    private static string? ReadText(ref MessagePackReader reader)
    {
        if (reader.NextMessagePackType == MessagePackType.String)
        {
            return reader.ReadString() ?? string.Empty;
        }

        if (reader.NextMessagePackType == MessagePackType.Binary)
        {
            var bytes = reader.ReadBytes();
            return bytes is { } b ? Encoding.UTF8.GetString(b) : string.Empty;
        }

        reader.Skip();
        return null;
    }

    /// <summary>Nonce and salts are raw bytes: Fluent Bit sends them as str, Fluentd (Ruby binary strings) as bin.</summary>
    private static byte[]? ReadBytes(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.String:
                var str = reader.ReadStringSequence();
                return str is { } s ? s.ToArray() : [];
            case MessagePackType.Binary:
                var bin = reader.ReadBytes();
                return bin is { } b ? b.ToArray() : [];
            default:
                reader.Skip();
                return null;
        }
    }

    private static void AppendUtf8(IncrementalHash hash, string text)
    {
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        var rented = max <= 512 ? null : ArrayPool<byte>.Shared.Rent(max);
        Span<byte> buffer = rented ?? stackalloc byte[512];
        var n = Encoding.UTF8.GetBytes(text, buffer);
        hash.AppendData(buffer[..n]);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static string FinishHex(IncrementalHash hash)
    {
        Span<byte> digest = stackalloc byte[64];
        hash.GetHashAndReset(digest);
        return Convert.ToHexStringLower(digest);
    }

    private static bool FixedTimeEquals(string expected, string actual)
    {
        if (expected.Length != actual.Length)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected.AsSpan()),
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(actual.AsSpan()));
    }
}
