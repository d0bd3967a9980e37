namespace Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;

/// <summary>
/// The AWS fakes' dice for injected faults: thread-safe draws in [0, 100) from a seeded generator, so a run that
/// failed on an injected fault can be repeated with the same seed.
/// </summary>
internal sealed class PercentRoll(int seed)
{
    private readonly Random _random = new(seed);
    private readonly Lock _gate = new();

    public double Next()
    {
        lock (_gate)
        {
            return _random.NextDouble() * 100;
        }
    }
}
