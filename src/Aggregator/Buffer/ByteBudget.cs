namespace Gateway.Aggregator.Buffer;

/// <summary>
/// A byte budget with FIFO async waiters: the one mechanism behind every memory and disk bound in the buffer.
/// Waiting on it is backpressure; nothing is ever dropped for lack of budget. A single request larger than the
/// whole budget is granted only when nothing else is held, so it cannot deadlock and the overshoot is one chunk.
/// </summary>
internal sealed class ByteBudget
{
    private readonly object _lock = new();
    private readonly Queue<Waiter> _waiters = new();
    private long _used;
    private long _peak;

    public ByteBudget(string name, long limitBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limitBytes, 1);
        Name = name;
        LimitBytes = limitBytes;
    }

    public string Name { get; }

    public long LimitBytes { get; }

    public long UsedBytes => Volatile.Read(ref _used);

    /// <summary>The most ever held at once, so tests and operators can check the bound held.</summary>
    public long PeakBytes => Volatile.Read(ref _peak);

    /// <summary>Takes the bytes if they fit now and nobody is waiting ahead; never waits.</summary>
    public bool TryReserve(long bytes)
    {
        lock (_lock)
        {
            DropCancelledHeads();
            if (_waiters.Count == 0 && Fits(bytes))
            {
                Take(bytes);
                return true;
            }

            return false;
        }
    }

    /// <summary>Takes the bytes, waiting in line while they do not fit. Returns true when it had to wait.</summary>
    public ValueTask<bool> ReserveAsync(long bytes, CancellationToken cancellationToken)
    {
        if (TryReserve(bytes))
        {
            return ValueTask.FromResult(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var waiter = new Waiter(bytes);
        lock (_lock)
        {
            _waiters.Enqueue(waiter);
        }

        // Budget may have been released between TryReserve and enqueueing.
        Pump();
        return new ValueTask<bool>(WaitAsync(waiter, cancellationToken));
    }

    /// <summary>Counts bytes that are already held (e.g. segments found on disk at startup), even over the limit.</summary>
    public void ForceReserve(long bytes)
    {
        lock (_lock)
        {
            Take(bytes);
        }
    }

    public void Release(long bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        lock (_lock)
        {
            _used -= bytes;
            if (_used < 0)
            {
                throw new InvalidOperationException($"byte budget {Name} released more than it held");
            }
        }

        Pump();
    }

    /// <summary>Grants waiters from the head of the line while they fit; completions run outside the lock.</summary>
    private void Pump()
    {
        List<Waiter>? granted = null;
        lock (_lock)
        {
            while (true)
            {
                DropCancelledHeads();
                if (!_waiters.TryPeek(out var head) || !Fits(head.Bytes))
                {
                    break;
                }

                _waiters.Dequeue();
                Take(head.Bytes);
                (granted ??= []).Add(head);
            }
        }

        if (granted is null)
        {
            return;
        }

        foreach (var w in granted)
        {
            if (!w.Completion.TrySetResult(true))
            {
                // Cancelled after being granted: give the bytes back (and let the next in line have them).
                Release(w.Bytes);
            }
        }
    }

    private void DropCancelledHeads()
    {
        while (_waiters.TryPeek(out var head) && head.Completion.Task.IsCompleted)
        {
            _waiters.Dequeue();
        }
    }

    private async Task<bool> WaitAsync(Waiter waiter, CancellationToken cancellationToken)
    {
        using (cancellationToken.Register(
            static state =>
            {
                var (budget, w) = ((ByteBudget, Waiter))state!;
                if (w.Completion.TrySetCanceled())
                {
                    budget.Pump(); // a cancelled head must not hold up the waiters behind it
                }
            },
            (this, waiter)))
        {
            return await waiter.Completion.Task.ConfigureAwait(false);
        }
    }

    private bool Fits(long bytes) => _used + bytes <= LimitBytes || _used == 0;

    private void Take(long bytes)
    {
        _used += bytes;
        if (_used > _peak)
        {
            _peak = _used;
        }
    }

    private sealed class Waiter(long bytes)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource<bool> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
