using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// One chunk inside the output: its routed, formatted records (the plan), how many of them still wait in the
/// stream queues or in a request, and which went through. Its flush completes when the last record is settled:
/// Ok when every request carrying its records succeeded (or was refused for good, counted), else Retry — and
/// <see cref="Delivered"/> tells the engine's retry which records not to send again.
/// </summary>
internal sealed class CloudWatchPendingChunk
{
    private readonly TaskCompletionSource<FlushResult> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CloudWatchFlushPlan? _plan;
    private int _unsettled = 1; // the enqueueing flush holds one until every record is queued
    private int _planHolders = 2; // the unsettled records, and the flush (it keys progress by the plan at the end)
    private volatile bool _failed;

    public CloudWatchPendingChunk(CloudWatchFlushPlan plan, bool[] delivered, long queuedAt)
    {
        _plan = plan;
        Delivered = delivered;
        QueuedAt = queuedAt;
    }

    /// <summary>Valid while any of the chunk's records is unsettled or its flush still runs (<see cref="ReleasePlan"/>).</summary>
    public CloudWatchFlushPlan Plan => _plan ?? throw new ObjectDisposedException(nameof(CloudWatchPendingChunk));

    /// <summary>By record sequence: sent (or refused for good) in this flush or an earlier try of the chunk.</summary>
    public bool[] Delivered { get; }

    /// <summary>When the chunk's records were queued (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    public long QueuedAt { get; }

    /// <summary>The flush was cancelled (shutdown): records not yet in a request are dropped from the queues.</summary>
    public bool Abandoned { get; private set; }

    public Task<FlushResult> Completion => _done.Task;

    public void Hold(int records) => Interlocked.Add(ref _unsettled, records);

    /// <summary>Settles <paramref name="records"/> records: sent (their Delivered bits are already set) or failed.</summary>
    public void Settle(int records, bool sent)
    {
        if (!sent)
        {
            _failed = true;
        }

        if (Interlocked.Add(ref _unsettled, -records) == 0)
        {
            ReleasePlan();
            _done.TrySetResult(_failed ? FlushResult.Retry : FlushResult.Ok);
        }
    }

    /// <summary>One holder is done with the plan; the last returns its pooled buffers.</summary>
    public void ReleasePlan()
    {
        if (Interlocked.Decrement(ref _planHolders) == 0)
        {
            Interlocked.Exchange(ref _plan, null)?.Dispose();
        }
    }

    public void Abandon() => Abandoned = true;
}
