using System.Threading.Channels;
using Gateway.Engine.Forward;
using Gateway.Engine.Records;
using Gateway.Shipper.Inputs.Tail;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Pipeline;

/// <summary>
/// The stage between the node's inputs and the aggregator: a bounded queue of chunks and a few senders that run
/// the node filters, send each chunk over forward with acknowledgements and only then acknowledge it to its input
/// (which commits the offset or cursor). Several senders keep the forward window busy, so a round trip per chunk
/// does not cap throughput; acknowledgements may therefore reach an input out of order, which its commit tracker
/// allows. A chunk the aggregator does not take is sent again after a backoff — never dropped; on shutdown the
/// chunks in hand stay unacknowledged and are read again on the next start.
/// </summary>
internal sealed class ChunkForwarder
{
    private readonly Channel<OutboundChunk> _queue;
    private readonly Func<EventChunk, CancellationToken, Task<ForwardSendResult>> _send;
    private readonly NodeFilterChain _filters;
    private readonly SinkRetryBackoff _backoff;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _senders;

    public ChunkForwarder(
        Func<EventChunk, CancellationToken, Task<ForwardSendResult>> send,
        NodeFilterChain filters,
        ILogger logger,
        int senders = 8,
        int queueCapacity = 64,
        SinkRetryBackoff? backoff = null,
        TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(senders, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(queueCapacity, 1);
        _send = send;
        _filters = filters;
        _logger = logger;
        _senders = senders;
        _backoff = backoff ?? SinkRetryBackoff.Default;
        _time = time ?? TimeProvider.System;
        _queue = Channel.CreateBounded<OutboundChunk>(new BoundedChannelOptions(queueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });
        Metrics = new ShipperMetrics(() => _queue.Reader.Count);
    }

    public ShipperMetrics Metrics { get; }

    /// <summary>Queues a chunk; waits while the queue is full (the input then stops reading: backpressure).</summary>
    public async ValueTask EnqueueAsync(OutboundChunk chunk, CancellationToken cancellationToken)
    {
        await _queue.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
        Metrics.OnReceived();
    }

    /// <summary>Runs the senders until <paramref name="cancellationToken"/> is cancelled; returns normally then.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var senders = new Task[_senders];
        for (var i = 0; i < senders.Length; i++)
        {
            senders[i] = SendLoopAsync(cancellationToken);
        }

        await Task.WhenAll(senders).ConfigureAwait(false);
    }

    private async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (_queue.Reader.TryRead(out var chunk))
                {
                    await DeliverAsync(chunk, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: whatever is in hand stays unacknowledged and is read again after the restart.
        }
    }

    private async Task DeliverAsync(OutboundChunk outbound, CancellationToken cancellationToken)
    {
        var chunk = _filters.Apply(outbound.Chunk, out var owner);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                ForwardSendResult result;
                try
                {
                    result = await _send(chunk, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    result = ForwardSendResult.Retry(ex.Message);
                }

                if (result.Status == ForwardSendStatus.Delivered)
                {
                    // Counted before the input hears of it, so whoever waits on the acknowledgement sees the count.
                    Metrics.OnAcknowledged(chunk.EventCount, chunk.ByteLength);
                    outbound.Acknowledge();
                    return;
                }

                Metrics.OnResend();
                var delay = _backoff.DelayFor(attempt);
                ShipperLog.SendFailed(_logger, chunk.Tag, chunk.EventCount, attempt, result.Reason ?? "unknown", delay);
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            owner?.Dispose();
        }
    }
}
