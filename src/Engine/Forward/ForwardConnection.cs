using System.Net.Sockets;
using MessagePack;

namespace Gateway.Engine.Forward;

/// <summary>
/// One live connection of a <see cref="ForwardClient"/>. Its <see cref="Generation"/> distinguishes it from earlier
/// connections, so the client can tell which pending chunks were written on it and which must be resent.
/// </summary>
internal sealed class ForwardConnection
{
    private readonly TcpClient _tcp;
    private readonly CancellationTokenSource _closed = new();
    private string? _brokenReason;

    public ForwardConnection(TcpClient tcp, Stream stream, ForwardEndpoint endpoint, long generation)
    {
        _tcp = tcp;
        Stream = stream;
        Endpoint = endpoint;
        Generation = generation;
        Reader = new MessagePackStreamReader(stream, leaveOpen: true);
    }

    /// <summary>
    /// Frames server messages. One reader serves the handshake and then the ack loop, so bytes it buffered
    /// past the handshake are not lost.
    /// </summary>
    public MessagePackStreamReader Reader { get; }

    public Stream Stream { get; }

    public ForwardEndpoint Endpoint { get; }

    public long Generation { get; }

    /// <summary>Cancelled when the connection breaks; the ack reader stops on it.</summary>
    public CancellationToken Closed => _closed.Token;

    public bool IsBroken => Volatile.Read(ref _brokenReason) is not null;

    public string BrokenReason => Volatile.Read(ref _brokenReason) ?? string.Empty;

    public Task? AckReader { get; set; }

    /// <summary>Marks the connection dead (first reason wins) and closes the socket. Returns true for the first caller.</summary>
    public bool Break(string reason)
    {
        if (Interlocked.CompareExchange(ref _brokenReason, reason, null) is not null)
        {
            return false;
        }

        try
        {
            _closed.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Already torn down.
        }

        try
        {
            Stream.Dispose();
        }
        catch (IOException)
        {
            // Closing a broken TLS stream may throw; the socket goes below anyway.
        }

        _tcp.Dispose();

        // Reader is not disposed here: a read may still be running on it. Its single reader disposes it.
        return true;
    }
}
