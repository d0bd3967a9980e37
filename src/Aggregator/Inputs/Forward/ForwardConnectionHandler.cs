using System.Buffers;
using System.IO.Pipelines;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Forward;

/// <summary>
/// Serves one forward input's connections (Kestrel connection middleware over the transport's pipes, TCP, TLS
/// or Unix socket): the optional secure-forward handshake, then Forward messages in any mode. Each message
/// becomes an <see cref="EventChunk"/> handed to the <see cref="IChunkSink"/>; the ack (when the sender asked for
/// one) is written only after the sink has stored it. While the sink waits (buffer full) this connection reads
/// nothing more, so TCP flow control pushes back to the sender. Bad input closes that connection only, with one
/// log line and a <c>gateway.forward.connection_errors</c> count.
/// </summary>
public sealed class ForwardConnectionHandler : ConnectionHandler
{
    private readonly ForwardInputOptions _options;
    private readonly IChunkSink _sink;
    private readonly ForwardInputMetrics _metrics;
    private readonly ILogger _logger;
    private readonly CancellationToken _stopping;

    /// <param name="stopping">
    /// Cancels sink appends that are still waiting when the host stops (pass ApplicationStopping). A peer that
    /// disconnects does not cancel them: what it sent in full is stored even if the ack can no longer be sent.
    /// </param>
    public ForwardConnectionHandler(ForwardInputOptions options, IChunkSink sink, ForwardInputMetrics metrics, ILogger<ForwardConnectionHandler> logger, CancellationToken stopping = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _options = options;
        _sink = sink;
        _metrics = metrics;
        _logger = logger;
        _stopping = stopping;
    }

    public ForwardInputOptions Options => _options;

    internal ILogger Logger => _logger;

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var peer = connection.RemoteEndPoint?.ToString() is { Length: > 0 } remote && remote != "(null)"
            ? remote
            : _options.UnixPath is { } path ? $"unix:{path}" : connection.ConnectionId;
        _metrics.ConnectionOpened();
        ForwardInputLog.ConnectionOpened(_logger, _options.Name, peer);
        using var session = new Session(this, connection, peer);
        try
        {
            await session.RunAsync().ConfigureAwait(false);
        }
        finally
        {
            _metrics.ConnectionClosed();
            ForwardInputLog.ConnectionEnded(_logger, _options.Name, peer);
        }
    }

    /// <summary>State of one connection: its decoder and the unfinished tail of its input.</summary>
    private sealed class Session : IDisposable
    {
        private readonly ForwardConnectionHandler _handler;
        private readonly PipeReader _input;
        private readonly PipeWriter _output;
        private readonly string _peer;
        private readonly CancellationToken _stopping;
        private readonly ForwardMessageDecoder _decoder;
        private readonly ForwardReceiveBuffer _pending = new();

        public Session(ForwardConnectionHandler handler, ConnectionContext connection, string peer)
        {
            _handler = handler;
            _input = connection.Transport.Input;
            _output = connection.Transport.Output;
            _peer = peer;
            _stopping = handler._stopping;
            // Pooled: each message is stored (AppendAsync copies what it keeps) before the next is decoded, so
            // the event bytes go back to the pool right after; no large-object allocation per message.
            _decoder = new ForwardMessageDecoder(handler._options.DecoderLimits, pooledEvents: true);
        }

        private ForwardInputOptions Options => _handler._options;

        public void Dispose() => _pending.Dispose();

        public async Task RunAsync()
        {
            try
            {
                if (Options.SecurityEnabled && !await HandshakeAsync().ConfigureAwait(false))
                {
                    return;
                }

                await ReceiveAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                // The host is stopping: nothing to report.
            }
            catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException)
            {
                ForwardInputLog.ConnectionDropped(_handler._logger, ex, Options.Name, _peer);
            }
        }

        private async Task<bool> HandshakeAsync()
        {
            // Like Fluent Bit, always offer a user-auth salt; it only matters when Security.Users is set.
            var helo = ForwardHandshake.CreateHelo(requireUserAuth: true);
            ForwardHandshake.WriteHelo(_output, helo);
            await _output.FlushAsync().ConfigureAwait(false);

            ForwardPing? ping;
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(_stopping);
            deadline.CancelAfter(Options.HandshakeTimeout);
            while (true)
            {
                ReadResult result;
                try
                {
                    result = await _input.ReadAsync(deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!_stopping.IsCancellationRequested)
                {
                    Reject("handshake_timeout", $"no PING within {Options.HandshakeTimeout.TotalSeconds:0.###} s of the HELO");
                    return false;
                }

                var buffer = result.Buffer;
                var status = ForwardHandshake.TryReadPing(buffer, out ping, out var consumed, out var error);
                if (status == ForwardReadStatus.Ok)
                {
                    _input.AdvanceTo(buffer.GetPosition(consumed));
                    break;
                }

                if (status == ForwardReadStatus.Error)
                {
                    _input.AdvanceTo(buffer.End);
                    Reject("handshake", error ?? "invalid PING");
                    return false;
                }

                if (result.IsCompleted)
                {
                    if (!buffer.IsEmpty)
                    {
                        Reject("truncated", "connection closed in the middle of the PING");
                    }

                    _input.AdvanceTo(buffer.End);
                    return false;
                }

                _input.AdvanceTo(buffer.Start, buffer.End);
            }

            if (!ForwardHandshake.CheckPing(ping!, helo, Options.SharedKey!, Options.Users, out var reason))
            {
                ForwardHandshake.WritePong(_output, ForwardHandshake.CreateFailurePong(reason));
                await _output.FlushAsync().ConfigureAwait(false);
                Reject("unauthenticated", $"{reason} (client hostname '{ping!.Hostname}', user '{ping.Username}')");
                return false;
            }

            ForwardHandshake.WritePong(_output, ForwardHandshake.CreatePong(ping!, helo, Options.SelfHostname, Options.SharedKey!));
            await _output.FlushAsync().ConfigureAwait(false);
            return true;
        }

        private async Task ReceiveAsync()
        {
            while (true)
            {
                // No ConnectionClosed token: it can fire while bytes the peer sent before closing are still in
                // the pipe, and those must be delivered. The pipe itself reports completion or abort.
                var result = await _input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (_pending.IsEmpty)
                {
                    // Common case: whole messages straight from the transport's buffer.
                    var consumed = await ProcessAsync(buffer).ConfigureAwait(false);
                    if (consumed < 0)
                    {
                        return;
                    }

                    var rest = buffer.Slice(consumed);
                    if (!rest.IsEmpty)
                    {
                        _pending.Append(rest);
                    }
                }
                else
                {
                    _pending.Append(buffer);
                    var consumed = await ProcessAsync(_pending.Sequence).ConfigureAwait(false);
                    if (consumed < 0)
                    {
                        return;
                    }

                    _pending.Consume(consumed);
                }

                _input.AdvanceTo(buffer.End);
                if (result.IsCompleted)
                {
                    if (!_pending.IsEmpty)
                    {
                        Reject("truncated", $"connection closed in the middle of a message ({_pending.Length} bytes received)");
                    }

                    return;
                }
            }
        }

        /// <summary>Decodes and delivers every whole message in <paramref name="data"/>; returns bytes consumed, or -1 after rejecting the connection.</summary>
        private async Task<long> ProcessAsync(ReadOnlySequence<byte> data)
        {
            long offset = 0;
            while (true)
            {
                var status = _decoder.TryDecode(data.Slice(offset), out var message, out var error, out var consumed);
                switch (status)
                {
                    case ForwardDecodeStatus.NeedMoreData:
                        return offset;
                    case ForwardDecodeStatus.Error:
                        Reject(error!.KindName, error.Reason);
                        return -1;
                }

                offset += consumed;
                bool delivered;
                try
                {
                    delivered = await DeliverAsync(message!, consumed).ConfigureAwait(false);
                }
                finally
                {
                    // The sink is done with the bytes once AppendAsync completed (stored, or failed).
                    message!.ReturnEvents();
                }

                if (!delivered)
                {
                    return -1;
                }
            }
        }

        private async Task<bool> DeliverAsync(ForwardMessage message, long wireBytes)
        {
            var tag = Options.Tag ?? (Options.TagPrefix is null ? message.Tag : Options.TagPrefix + message.Tag);
            if (tag.Length == 0)
            {
                Reject("malformed", "message has an empty tag");
                return false;
            }

            if (message.EventCount > 0)
            {
                try
                {
                    await _handler._sink.AppendAsync(new EventChunk(tag, message.Events, message.EventCount, message.Options.NodeName), _stopping).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    // Any sink failure: the chunk is not stored, so no ack; the sender keeps it and retries.
                    _handler._metrics.ConnectionError("sink_error");
                    ForwardInputLog.SinkFailed(_handler._logger, ex, Options.Name, _peer);
                    return false;
                }
            }

            _handler._metrics.MessageReceived(ModeName(message.Mode), wireBytes, message.EventCount);
            if (message.Options.Chunk is { } chunk)
            {
                ForwardAck.Write(_output, chunk);
                await _output.FlushAsync().ConfigureAwait(false);
                _handler._metrics.AckSent();
            }

            return true;
        }

        private void Reject(string reason, string detail)
        {
            _handler._metrics.ConnectionError(reason);
            ForwardInputLog.ConnectionRejected(_handler._logger, Options.Name, _peer, reason, detail);
        }

        private static string ModeName(ForwardMode mode) => mode switch
        {
            ForwardMode.Message => "message",
            ForwardMode.Forward => "forward",
            ForwardMode.PackedForward => "packed_forward",
            _ => "compressed_packed_forward",
        };
    }
}
