using System.Globalization;
using Gateway.Aggregator.Buffer;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Engine;

/// <summary>
/// An output's retry rule, as Fluent Bit's scheduler: <c>Retry_Limit</c> retries after the first attempt (default
/// 1; <c>no_limits</c>/<c>false</c> = unlimited; <c>no_retries</c> = none), each after a "full jitter" backoff:
/// uniform between <c>scheduler.base</c> and <c>min(scheduler.cap, base × 2^retry)</c> seconds.
/// </summary>
internal sealed class RetryPolicy
{
    public const int DefaultLimit = 1;

    private readonly Random _random;

    /// <param name="limit">Retries allowed after the first attempt; null = unlimited.</param>
    public RetryPolicy(int? limit, TimeSpan backoffBase, TimeSpan backoffCap, Random? random = null)
    {
        if (limit < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(limit));
        }

        if (backoffBase <= TimeSpan.Zero || backoffCap < backoffBase)
        {
            throw new ArgumentOutOfRangeException(nameof(backoffCap), "need 0 < base <= cap");
        }

        Limit = limit;
        Base = backoffBase;
        Cap = backoffCap;
        _random = random ?? Random.Shared;
    }

    /// <summary>Retries allowed after the first attempt; null = unlimited.</summary>
    public int? Limit { get; }

    public TimeSpan Base { get; }

    public TimeSpan Cap { get; }

    /// <summary>Reads <c>Retry_Limit</c> of an output section; the backoff comes from <c>[SERVICE]</c>.</summary>
    public static RetryPolicy FromSection(ConfigSection output, BufferOptions service, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(service);
        return new RetryPolicy(ParseLimit(output.Find("Retry_Limit")), service.SchedulerBase, service.SchedulerCap, random);
    }

    public static int? ParseLimit(ConfigEntry? entry)
    {
        if (entry is null)
        {
            return DefaultLimit;
        }

        var v = entry.Value.Trim();
        if (v.Equals("no_limits", StringComparison.OrdinalIgnoreCase) || v.Equals("false", StringComparison.OrdinalIgnoreCase)
            || v.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (v.Equals("no_retries", StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }

        if (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1)
        {
            return n;
        }

        throw new ConfigException(entry.Location, $"Retry_Limit '{entry.Value}' is not a number >= 1, no_limits, false or no_retries");
    }

    /// <summary>Whether retry number <paramref name="retry"/> (1 = the first retry) is allowed.</summary>
    public bool AllowsRetry(int retry) => Limit is null || retry <= Limit.Value;

    /// <summary>The wait before retry number <paramref name="retry"/> (1-based).</summary>
    public TimeSpan Backoff(int retry)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(retry, 1);

        // base × 2^retry, saturating instead of overflowing for long outages.
        var ceiling = TimeSpan.FromTicks((long)Math.Min(Cap.Ticks, Base.Ticks * Math.Pow(2, Math.Min(retry, 64))));
        if (ceiling < Base)
        {
            ceiling = Base;
        }

        // Whole seconds, both ends inclusive, as Fluent Bit's random_uniform(base, ceiling).
        var low = (long)Base.TotalSeconds;
        var high = (long)ceiling.TotalSeconds;
        if (low >= 1 && high >= low)
        {
            return TimeSpan.FromSeconds(_random.NextInt64(low, high + 1));
        }

        return TimeSpan.FromTicks(_random.NextInt64(Base.Ticks, ceiling.Ticks + 1));
    }
}
