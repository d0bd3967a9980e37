using System.Buffers;
using System.Net.Sockets;
using Gateway.Protos.Forward;

namespace Gateway.Load;

/// <summary>
/// One forward connection that sends a PackedForward message and waits for its ack before the next, as
/// Fluent Bit's out_forward does with <c>Require_ack_response</c>: throughput measured this way counts only
/// data the aggregator has stored.
/// </summary>
internal sealed class AckedForwardConnection : IAsyncDisposable
{
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly ArrayBufferWriter<byte> _message = new(64 * 1024);
    private readonly byte[] _ackBuffer = new byte[ForwardAck.MaxAckBytes];

    private AckedForwardConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    public static async Task<AckedForwardConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(host, port, cancellationToken).ConfigureAwait(false);
            return new AckedForwardConnection(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the events as one PackedForward message and returns when the matching ack arrived.</summary>
    public async Task SendAsync(string tag, ReadOnlyMemory<byte> events, int eventCount, TimeSpan ackTimeout, CancellationToken cancellationToken)
    {
        var chunkId = ForwardMessageWriter.NewChunkId();
        _message.ResetWrittenCount();
        ForwardMessageWriter.WritePackedForward(_message, tag, events.Span, eventCount, chunkId);
        await _stream.WriteAsync(_message.WrittenMemory, cancellationToken).ConfigureAwait(false);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ackTimeout);
        var filled = 0;
        while (true)
        {
            var read = await _stream.ReadAsync(_ackBuffer.AsMemory(filled), timeout.Token).ConfigureAwait(false);
            if (read == 0)
            {
                throw new IOException("the server closed the connection before acknowledging");
            }

            filled += read;
            var status = ForwardAck.TryRead(new ReadOnlySequence<byte>(_ackBuffer, 0, filled), out var acked, out var consumed, out var error);
            if (status == ForwardReadStatus.NeedMoreData)
            {
                if (filled == _ackBuffer.Length)
                {
                    throw new IOException("ack response larger than an ack can be");
                }

                continue;
            }

            if (status == ForwardReadStatus.Error)
            {
                throw new IOException($"bad ack response: {error}");
            }

            if (acked != chunkId || consumed != filled)
            {
                throw new IOException($"ack for '{acked}' while waiting for '{chunkId}'");
            }

            return;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
