namespace Gateway.Engine.Forward;

/// <summary>The server refused the secure-forward handshake (wrong shared key or credentials).</summary>
public sealed class ForwardHandshakeException : Exception
{
    public ForwardHandshakeException(string message)
        : base(message)
    {
    }
}

/// <summary>Client side of the secure-forward handshake (HELO → PING → PONG).</summary>
internal static class ForwardClientHandshake
{
    public static Task RunAsync(Stream stream, ForwardClientOptions options, CancellationToken cancellationToken)
    {
        // Filled in once Gateway.Protos.Forward.ForwardHandshake (branch 'forward') is on main.
        throw new ForwardHandshakeException("secure forward (Shared_Key) is not available in this build yet");
    }
}
