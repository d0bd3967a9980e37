namespace Gateway.Aggregator.Outputs.S3;

/// <summary>
/// When a failed object may be tried again: exponential from <c>initial</c>, doubling per consecutive failure,
/// capped at <c>max</c>. The data stays in store_dir throughout, so there is no final give-up; after
/// <c>retry_limit</c> failures in a row the uploader says so loudly (and again each time the cap is reached).
/// </summary>
internal sealed class S3UploadBackoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly TimeProvider _time;
    private readonly Dictionary<long, (int Failures, DateTimeOffset NotBefore)> _state = [];

    public S3UploadBackoff(TimeSpan initial, TimeSpan max, TimeProvider time)
    {
        _initial = initial;
        _max = max;
        _time = time;
    }

    /// <summary>True when the object has no failure pending or its wait is over.</summary>
    public bool IsDue(long objectId) => !_state.TryGetValue(objectId, out var s) || _time.GetUtcNow() >= s.NotBefore;

    public int Failures(long objectId) => _state.TryGetValue(objectId, out var s) ? s.Failures : 0;

    /// <summary>Records a failure; returns how many in a row and how long until the next attempt.</summary>
    public (int Failures, TimeSpan Delay) Failed(long objectId)
    {
        var failures = Failures(objectId) + 1;
        var delay = Delay(failures);
        _state[objectId] = (failures, _time.GetUtcNow() + delay);
        return (failures, delay);
    }

    public void Succeeded(long objectId) => _state.Remove(objectId);

    /// <summary>The wait after the n-th consecutive failure.</summary>
    public TimeSpan Delay(int failures)
    {
        var factor = Math.Pow(2, Math.Min(failures - 1, 30));
        var delay = TimeSpan.FromTicks((long)Math.Min(_initial.Ticks * factor, _max.Ticks));
        return delay;
    }
}
