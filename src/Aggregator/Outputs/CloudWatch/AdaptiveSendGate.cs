namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// Bounds concurrent PutLogEvents calls with an AIMD limit, like the SDKs' adaptive retry mode: a throttle
/// halves the limit (never below 1), a run of successes raises it by one up to the maximum. Callers wait in
/// FIFO order when the limit is reached.
/// </summary>
internal sealed class AdaptiveSendGate
{
    private readonly Lock _gate = new();
    private readonly Queue<TaskCompletionSource> _waiters = new();
    private readonly int _max;
    private int _limit;
    private int _inFlight;
    private int _successesSinceRaise;

    public AdaptiveSendGate(int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        _max = max;
        _limit = max;
    }

    public int Limit
    {
        get
        {
            lock (_gate)
            {
                return _limit;
            }
        }
    }

    public async Task EnterAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource waiter;
        lock (_gate)
        {
            if (_inFlight < _limit && _waiters.Count == 0)
            {
                _inFlight++;
                return;
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }

        await using (cancellationToken.Register(() => waiter.TrySetCanceled(cancellationToken)))
        {
            try
            {
                await waiter.Task.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                lock (_gate)
                {
                    // Granted just as we were cancelled: hand the slot on.
                    if (waiter.Task.IsCompletedSuccessfully)
                    {
                        _inFlight--;
                        WakeLocked();
                    }
                }

                throw;
            }
        }
    }

    /// <param name="throttled">The call was throttled (or the service was unavailable): back off.</param>
    public void Exit(bool throttled)
    {
        lock (_gate)
        {
            _inFlight--;
            if (throttled)
            {
                _limit = Math.Max(1, _limit / 2);
                _successesSinceRaise = 0;
            }
            else if (_limit < _max && ++_successesSinceRaise >= _limit)
            {
                _limit++;
                _successesSinceRaise = 0;
            }

            WakeLocked();
        }
    }

    private void WakeLocked()
    {
        while (_inFlight < _limit && _waiters.TryDequeue(out var next))
        {
            if (next.TrySetResult())
            {
                _inFlight++;
            }
        }
    }
}
