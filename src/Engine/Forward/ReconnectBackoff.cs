namespace Gateway.Engine.Forward;

/// <summary>
/// When the forward client may try to connect again: after each round in which every endpoint failed, the wait
/// doubles from the base delay up to the maximum; a success resets it. Attempts before <see cref="NextAttempt"/>
/// fail fast instead of hammering a down server on every flush.
/// </summary>
internal sealed class ReconnectBackoff
{
    private readonly TimeSpan _baseDelay;
    private readonly TimeSpan _maxDelay;
    private readonly TimeProvider _time;
    private int _failedRounds;

    public ReconnectBackoff(TimeSpan baseDelay, TimeSpan maxDelay, TimeProvider time)
    {
        _baseDelay = baseDelay;
        _maxDelay = maxDelay < baseDelay ? baseDelay : maxDelay;
        _time = time;
    }

    /// <summary>Earliest time of the next connection attempt; <see cref="DateTimeOffset.MinValue"/> when not backing off.</summary>
    public DateTimeOffset NextAttempt { get; private set; } = DateTimeOffset.MinValue;

    public int FailedRounds => _failedRounds;

    public bool MayAttempt => _time.GetUtcNow() >= NextAttempt;

    /// <summary>Time left until <see cref="NextAttempt"/> (zero when an attempt is allowed).</summary>
    public TimeSpan Remaining
    {
        get
        {
            var left = NextAttempt - _time.GetUtcNow();
            return left > TimeSpan.Zero ? left : TimeSpan.Zero;
        }
    }

    /// <summary>Every endpoint failed: wait base × 2^(rounds-1), capped.</summary>
    public TimeSpan RecordFailedRound()
    {
        _failedRounds++;
        var factor = Math.Pow(2, Math.Min(_failedRounds - 1, 30));
        var delay = TimeSpan.FromTicks((long)Math.Min(_baseDelay.Ticks * factor, _maxDelay.Ticks));
        NextAttempt = _time.GetUtcNow() + delay;
        return delay;
    }

    public void RecordSuccess()
    {
        _failedRounds = 0;
        NextAttempt = DateTimeOffset.MinValue;
    }
}
