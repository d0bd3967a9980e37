using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gateway.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace Gateway.Protos.Client;

/// <summary>
/// Sends log events to an aggregator's <c>[INPUT] Name gateway_grpc</c> over <c>gateway.v1.Ingest</c>.
/// <see cref="SendAsync"/> writes the batch on one long-lived bidirectional stream and completes when the
/// aggregator acknowledged it, which it does only after storing the batch (per the input's storage settings): a
/// completed send is durable, a failed one (exception) may or may not have been stored, so resend it
/// (at-least-once). Sends may be issued concurrently; batches go out, and are acknowledged, in call order. A broken
/// stream fails the sends in flight and the next send opens a new one. <see cref="PushAsync"/> is the unary call.
/// Thread-safe.
/// </summary>
public sealed class GatewayLogClient : IAsyncDisposable, IDisposable
{
    private readonly GatewayLogClientOptions _options;
    private readonly GrpcChannel _channel;
    private readonly Ingest.IngestClient _client;
    private readonly Metadata _headers;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private AckedStream? _stream;
    private long _nextBatchId;
    private bool _disposed;

    public GatewayLogClient(GatewayLogClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _channel = GrpcChannel.ForAddress(options.Address, new GrpcChannelOptions
        {
            HttpHandler = CreateHandler(options),
            MaxSendMessageSize = options.MaxSendMessageBytes,
            DisposeHttpClient = true,
        });
        _client = new Ingest.IngestClient(_channel);
        _headers = [];
        if (options.BearerToken is { Length: > 0 } token)
        {
            _headers.Add("authorization", "Bearer " + token);
        }
    }

    /// <summary>The options this client was created with.</summary>
    public GatewayLogClientOptions Options => _options;

    /// <summary>
    /// Sends <paramref name="events"/> as one batch on the stream and waits for its acknowledgement (= stored).
    /// Events without a tag get <see cref="GatewayLogClientOptions.DefaultTag"/>.
    /// </summary>
    public Task<BatchAck> SendAsync(IEnumerable<Event> events, CancellationToken cancellationToken = default) =>
        SendAsync(CreateBatch(events), cancellationToken);

    /// <summary>Sends a prepared batch on the stream and waits for its acknowledgement; an empty batch_id is assigned.</summary>
    public async Task<BatchAck> SendAsync(EventBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Prepare(batch);
        Task<BatchAck> acked;
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_stream is { IsBroken: true } broken)
            {
                // Its failure reached every send it carried; release the HTTP/2 stream before opening the next.
                broken.Abandon();
                _stream = null;
            }

            var stream = _stream ??= new AckedStream(_client.Stream(_headers));
            acked = await stream.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }

        return await acked.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The unary call: one batch, one acknowledgement after it was stored.</summary>
    public async Task<BatchAck> PushAsync(EventBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ObjectDisposedException.ThrowIf(_disposed, this);
        Prepare(batch);
        return await _client.PushAsync(batch, _headers, cancellationToken: cancellationToken).ResponseAsync.ConfigureAwait(false);
    }

    /// <summary>A batch of <paramref name="events"/> under the default tag and node name.</summary>
    public EventBatch CreateBatch(IEnumerable<Event> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var batch = new EventBatch();
        batch.Events.AddRange(events);
        return batch;
    }

    /// <summary>Ends the stream (after the acks of batches already sent) and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_stream is { } stream)
            {
                await stream.CompleteAsync().ConfigureAwait(false);
            }
        }
        finally
        {
            _writeGate.Release();
            _channel.Dispose();
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private void Prepare(EventBatch batch)
    {
        if (batch.BatchId.Length == 0)
        {
            batch.BatchId = Interlocked.Increment(ref _nextBatchId).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        if (batch.Tag.Length == 0 && batch.EventsMsgpack.IsEmpty)
        {
            batch.Tag = _options.DefaultTag;
        }

        if (batch.NodeName.Length == 0 && _options.NodeName is { } node)
        {
            batch.NodeName = node;
        }
    }

    private static SocketsHttpHandler CreateHandler(GatewayLogClientOptions options)
    {
        var handler = new SocketsHttpHandler
        {
            // One stream carries everything; keep the connection alive through idle periods and notice a dead peer.
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
        };
        if (options.ClientCertificate is { } certificate)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        if (options.ServerCertificateAuthority is { } authority)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, serverCertificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None)
                {
                    return true;
                }

                if (serverCertificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(authority);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(new X509Certificate2(serverCertificate));
            };
        }

        return handler;
    }

    /// <summary>
    /// One bidirectional stream: batches written in order, acks matched in order (the aggregator stores and acks
    /// a stream's batches one by one). When the stream breaks every unacknowledged send fails with the cause.
    /// </summary>
    private sealed class AckedStream
    {
        private readonly AsyncDuplexStreamingCall<EventBatch, BatchAck> _call;
        private readonly Queue<(string BatchId, TaskCompletionSource<BatchAck> Ack)> _pending = new();
        private readonly Task _reading;
        private Exception? _failure;

        public AckedStream(AsyncDuplexStreamingCall<EventBatch, BatchAck> call)
        {
            _call = call;
            _reading = Task.Run(ReadAcksAsync);
        }

        /// <summary>How long a failed write waits for the server's status of the call.</summary>
        private static readonly TimeSpan StatusGrace = TimeSpan.FromSeconds(5);

        public bool IsBroken => Volatile.Read(ref _failure) is not null;

        public async Task<Task<BatchAck>> WriteAsync(EventBatch batch, CancellationToken cancellationToken)
        {
            var ack = new TaskCompletionSource<BatchAck>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_pending)
            {
                if (_failure is { } failure)
                {
                    ack.SetException(failure);
                    return ack.Task;
                }

                _pending.Enqueue((batch.BatchId, ack));
            }

            try
            {
                await _call.RequestStream.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException or OperationCanceledException)
            {
                // A cancelled or failed write leaves the stream in an unknown state: nothing after it can be matched.
                // When the server already ended the call (e.g. Unauthenticated), the write only says "call is
                // complete", and the call's status — the reason the caller needs — may arrive on the response side
                // a moment later: unless the caller cancelled, let the ack reader see it (bounded) before failing.
                if (!cancellationToken.IsCancellationRequested)
                {
                    await Task.WhenAny(_reading, Task.Delay(StatusGrace, CancellationToken.None)).ConfigureAwait(false);
                }

                Fail(CallStatusOr(ex));
                _call.Dispose();
            }

            return ack.Task;
        }

        public void Abandon() => _call.Dispose();

        public async Task CompleteAsync()
        {
            try
            {
                if (!IsBroken)
                {
                    await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
                }

                await _reading.ConfigureAwait(false);
            }
            finally
            {
                _call.Dispose();
            }
        }

        private async Task ReadAcksAsync()
        {
            try
            {
                while (await _call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false))
                {
                    var ack = _call.ResponseStream.Current;
                    (string BatchId, TaskCompletionSource<BatchAck> Ack) next;
                    lock (_pending)
                    {
                        if (!_pending.TryDequeue(out next))
                        {
                            throw new InvalidOperationException($"acknowledgement for batch '{ack.BatchId}' arrived but no batch was waiting");
                        }
                    }

                    if (!string.Equals(next.BatchId, ack.BatchId, StringComparison.Ordinal))
                    {
                        var mismatch = new InvalidOperationException($"acknowledgement for batch '{ack.BatchId}' arrived while '{next.BatchId}' was expected");
                        next.Ack.TrySetException(mismatch);
                        throw mismatch;
                    }

                    next.Ack.TrySetResult(ack);
                }

                Fail(new RpcException(new Status(StatusCode.Unavailable, "the aggregator ended the stream before acknowledging these batches")));
            }
            catch (Exception ex)
            {
                Fail(ex);
            }
        }

        private Exception CallStatusOr(Exception failure)
        {
            try
            {
                var status = _call.GetStatus();
                return status.StatusCode == StatusCode.OK ? failure : new RpcException(status, _call.GetTrailers());
            }
            catch (InvalidOperationException)
            {
                // The call has no status yet: the write failure is all there is.
                return failure;
            }
        }

        private void Fail(Exception failure)
        {
            List<TaskCompletionSource<BatchAck>> waiters;
            lock (_pending)
            {
                // The first failure is the cause; later ones (a disposed call, a cancelled read) are its echoes.
                _failure ??= failure;
                failure = _failure;
                waiters = [.. _pending.Select(p => p.Ack)];
                _pending.Clear();
            }

            foreach (var waiter in waiters)
            {
                waiter.TrySetException(failure);
            }
        }
    }
}
