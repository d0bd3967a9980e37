using System.Collections.Concurrent;
using System.Globalization;
using Gateway.Engine.Forward;
using Gateway.Engine.Records;
using Gateway.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Outputs.Grpc;

/// <summary>
/// The shipper's link to the aggregator's <c>gateway.v1.Ingest</c> service: one bidirectional <c>Stream</c> call
/// shared by all senders, at most <see cref="GrpcOutputOptions.MaxInFlightBatches"/> batches unacknowledged,
/// acks matched by batch id. <see cref="SendAsync"/> returns Delivered only once the aggregator acknowledged the
/// batch (it stored it), so the caller commits offsets only then. When the stream breaks (connection lost,
/// server error, ack timeout) every unacknowledged batch gets Retry and the next send opens a new stream; the
/// channel's HTTP/2 connection reconnects by itself. Each chunk travels as one <c>events_msgpack</c> byte string,
/// wrapped without copying.
/// </summary>
internal sealed class GrpcIngestClient : IAsyncDisposable
{
    private readonly GrpcOutputOptions _options;
    private readonly string _nodeName;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;
    private readonly Ingest.IngestClient _client;
    private readonly SemaphoreSlim _window;
    private readonly SemaphoreSlim _sessionLock = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    private StreamSession? _session;
    private long _nextBatchId;

    public GrpcIngestClient(GrpcOutputOptions options, string nodeName, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _nodeName = nodeName;
        _logger = logger;
        _window = new SemaphoreSlim(options.MaxInFlightBatches, options.MaxInFlightBatches);
        _channel = GrpcChannel.ForAddress(options.Address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(10),

                // Detects a dead aggregator on an idle stream, so the batches in flight are resent elsewhere soon.
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            },

            // Chunks are bounded by the inputs (512 KiB); the aggregator enforces its own Buffer_Max_Size.
            MaxSendMessageSize = null,
        });
        _client = new Ingest.IngestClient(_channel);
    }

    public async Task<ForwardSendResult> SendAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var session = await GetSessionAsync(cancellationToken).ConfigureAwait(false);
            var id = Interlocked.Increment(ref _nextBatchId).ToString(CultureInfo.InvariantCulture);
            var ack = new TaskCompletionSource<ForwardSendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            session.Pending[id] = ack;
            var batch = new EventBatch
            {
                BatchId = id,
                Tag = chunk.Tag,

                // No copy: the chunk's memory outlives the call (its owner is released after SendAsync returns).
                EventsMsgpack = UnsafeByteOperations.UnsafeWrap(chunk.Events),
                EventCount = (uint)chunk.EventCount,
                NodeName = chunk.NodeName ?? _nodeName,
            };

            try
            {
                await session.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Break(session, $"write failed: {ex.Message}");

                // The stream may have broken before this batch was registered, so nobody else resolves it.
                ack.TrySetResult(ForwardSendResult.Retry(ex.Message));
            }

            try
            {
                return await ack.Task.WaitAsync(_options.AckTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Acks come in order; one missing this long means the stream is stuck, not just slow.
                Break(session, $"no ack for batch {id} within {_options.AckTimeout.TotalSeconds:0}s");
                return ForwardSendResult.Retry("ack timeout");
            }
            finally
            {
                session.Pending.TryRemove(id, out _);
            }
        }
        finally
        {
            _window.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync().ConfigureAwait(false);
        if (_session is { } session)
        {
            Break(session, "shutting down");
            await session.DisposeAsync().ConfigureAwait(false);
        }

        _channel.Dispose();
        _disposed.Dispose();
    }

    private async ValueTask<StreamSession> GetSessionAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _session);
        if (current is { IsBroken: false })
        {
            return current;
        }

        await _sessionLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = _session;
            if (current is { IsBroken: false })
            {
                return current;
            }

            if (current is not null)
            {
                await current.DisposeAsync().ConfigureAwait(false);
            }

            var call = _client.Stream(cancellationToken: _disposed.Token);
            var session = new StreamSession(call);
            session.ReadAcks = ReadAcksAsync(session);
            Volatile.Write(ref _session, session);
            GrpcOutputLog.StreamOpened(_logger, _options.Address.ToString());
            return session;
        }
        finally
        {
            _sessionLock.Release();
        }
    }

    private async Task ReadAcksAsync(StreamSession session)
    {
        string reason;
        try
        {
            var responses = session.Call.ResponseStream;
            while (await responses.MoveNext(session.Stopping).ConfigureAwait(false))
            {
                var ack = responses.Current;
                if (session.Pending.TryRemove(ack.BatchId, out var pending))
                {
                    pending.TrySetResult(ForwardSendResult.Delivered);
                }
            }

            reason = "the aggregator ended the stream";
        }
        catch (RpcException ex)
        {
            // InvalidArgument / ResourceExhausted name the refused batch; it is resent like any other failure,
            // which keeps its offsets uncommitted rather than silently losing it.
            reason = $"{ex.StatusCode}: {ex.Status.Detail}";
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or HttpRequestException or InvalidOperationException)
        {
            reason = ex.Message;
        }

        Break(session, reason);
    }

    private void Break(StreamSession session, string reason)
    {
        if (!session.MarkBroken())
        {
            return;
        }

        var pending = session.Pending.Count;
        if (!_disposed.IsCancellationRequested)
        {
            GrpcOutputLog.StreamBroken(_logger, _options.Address.ToString(), reason, pending);
        }

        foreach (var entry in session.Pending)
        {
            entry.Value.TrySetResult(ForwardSendResult.Retry(reason));
        }
    }

    /// <summary>One Stream call: its pending acks and a lock serializing writes (gRPC allows one at a time).</summary>
    private sealed class StreamSession : IAsyncDisposable
    {
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private readonly CancellationTokenSource _stopping = new();
        private int _broken;

        public StreamSession(AsyncDuplexStreamingCall<EventBatch, BatchAck> call)
        {
            Call = call;
        }

        public AsyncDuplexStreamingCall<EventBatch, BatchAck> Call { get; }

        public ConcurrentDictionary<string, TaskCompletionSource<ForwardSendResult>> Pending { get; } = new(StringComparer.Ordinal);

        public Task? ReadAcks { get; set; }

        public bool IsBroken => Volatile.Read(ref _broken) != 0;

        public CancellationToken Stopping => _stopping.Token;

        public bool MarkBroken()
        {
            if (Interlocked.Exchange(ref _broken, 1) != 0)
            {
                return false;
            }

            _stopping.Cancel();
            return true;
        }

        public async Task WriteAsync(EventBatch batch, CancellationToken cancellationToken)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (IsBroken)
                {
                    throw new IOException("the stream is broken");
                }

                await Call.RequestStream.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _writeLock.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            MarkBroken();
            Call.Dispose();
            if (ReadAcks is { } reading)
            {
                await reading.ConfigureAwait(false);
            }

            _stopping.Dispose();
        }
    }
}
