namespace Gateway.Shipper.Filters.Aws;

/// <summary>
/// When a metadata value that could not be fetched may be tried again: Fluent Bit's
/// <c>ec2_metadata_group_should_fetch</c> — never tried, or at least <c>retry_interval_s</c> since the last try
/// (zero: every time).
/// </summary>
internal sealed class MetadataRetrySchedule
{
    private readonly TimeSpan _interval;

    public MetadataRetrySchedule(TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero);
        _interval = interval;
    }

    public TimeSpan Interval => _interval;

    public bool IsDue(DateTimeOffset? lastAttempt, DateTimeOffset now) =>
        lastAttempt is null || _interval == TimeSpan.Zero || now - lastAttempt.Value >= _interval;
}
