namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// In-flush retry rule for one CloudWatch request (throttling, 5xx, network): up to <see cref="MaxAttempts"/>
/// attempts, each retry after a "full jitter" backoff, uniform in [0, min(cap, base × 2^retry)] (AWS's
/// recommended scheme, which spreads many throttled senders apart). After that the flush returns Retry and the
/// engine's own backoff takes over, with what was already delivered remembered.
/// </summary>
internal sealed class CloudWatchRetryBackoff
{
    private readonly Random _random;
    private readonly TimeProvider _time;

    public CloudWatchRetryBackoff(int maxAttempts, TimeSpan backoffBase, TimeSpan backoffCap, TimeProvider time, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxAttempts, 1);
        if (backoffBase <= TimeSpan.Zero || backoffCap < backoffBase)
        {
            throw new ArgumentOutOfRangeException(nameof(backoffCap), "need 0 < base <= cap");
        }

        MaxAttempts = maxAttempts;
        Base = backoffBase;
        Cap = backoffCap;
        _time = time;
        _random = random ?? Random.Shared;
    }

    public int MaxAttempts { get; }

    public TimeSpan Base { get; }

    public TimeSpan Cap { get; }

    /// <summary>True while attempt number <paramref name="attempt"/> (1-based, the one that just failed) may be followed by another.</summary>
    public bool CanRetry(int attempt) => attempt < MaxAttempts;

    /// <summary>The wait before retry number <paramref name="retry"/> (1 = first retry).</summary>
    public TimeSpan Delay(int retry)
    {
        var ceiling = Base.TotalMilliseconds * Math.Pow(2, Math.Min(retry - 1, 30));
        ceiling = Math.Min(ceiling, Cap.TotalMilliseconds);
        double roll;
        lock (_random)
        {
            roll = _random.NextDouble();
        }

        // Never zero: a zero wait would turn a burst of throttles into a tight loop.
        return TimeSpan.FromMilliseconds(Math.Max(1, roll * ceiling));
    }

    public Task WaitAsync(int retry, CancellationToken cancellationToken) => Task.Delay(Delay(retry), _time, cancellationToken);
}
