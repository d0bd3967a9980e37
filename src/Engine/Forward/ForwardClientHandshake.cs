using System.Buffers;
using Gateway.Protos.Forward;

namespace Gateway.Engine.Forward;

/// <summary>The secure-forward handshake failed (refused credentials, wrong shared key, or a malformed exchange).</summary>
public sealed class ForwardHandshakeException : Exception
{
    public ForwardHandshakeException(string message)
        : base(message)
    {
    }
}

/// <summary>
/// Client side of the secure-forward handshake: read HELO, answer PING, check PONG. The digests and message codecs
/// are <see cref="ForwardHandshake"/>'s, shared with the forward input.
/// </summary>
internal static class ForwardClientHandshake
{
    public static async Task RunAsync(ForwardConnection connection, ForwardClientOptions options, CancellationToken cancellationToken)
    {
        var sharedKey = options.SharedKey ?? throw new InvalidOperationException("no shared key");
        var heloFrame = await ReadFrameAsync(connection, "HELO", cancellationToken).ConfigureAwait(false);
        if (ForwardHandshake.TryReadHelo(heloFrame, out var helo, out _, out var heloError) != ForwardReadStatus.Ok || helo is null)
        {
            throw new ForwardHandshakeException($"bad HELO from server: {heloError}");
        }

        var ping = ForwardHandshake.CreatePing(helo, options.SelfHostname, sharedKey, options.Username, options.Password);
        var buffer = new ArrayBufferWriter<byte>(256);
        ForwardHandshake.WritePing(buffer, ping);
        await connection.Stream.WriteAsync(buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await connection.Stream.FlushAsync(cancellationToken).ConfigureAwait(false);

        var pongFrame = await ReadFrameAsync(connection, "PONG", cancellationToken).ConfigureAwait(false);
        if (ForwardHandshake.TryReadPong(pongFrame, out var pong, out _, out var pongError) != ForwardReadStatus.Ok || pong is null)
        {
            throw new ForwardHandshakeException($"bad PONG from server: {pongError}");
        }

        if (!ForwardHandshake.CheckPong(pong, ping, helo, sharedKey, out var reason))
        {
            throw new ForwardHandshakeException(reason);
        }
    }

    private static async Task<ReadOnlySequence<byte>> ReadFrameAsync(ForwardConnection connection, string what, CancellationToken cancellationToken)
    {
        ReadOnlySequence<byte>? frame;
        try
        {
            frame = await connection.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (MessagePack.MessagePackSerializationException ex)
        {
            throw new ForwardHandshakeException($"malformed {what} from server: {ex.Message}");
        }

        return frame ?? throw new ForwardHandshakeException($"server closed the connection before sending {what}");
    }
}
