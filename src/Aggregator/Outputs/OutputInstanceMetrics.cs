using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Outputs;

/// <summary>
/// What every output's instrument set shares: one <c>Gateway</c> meter for the process's output counters, the
/// <c>output</c> tag naming the instance, and counters that also keep that instance's own running total (the output
/// and tests read those without a <see cref="MeterListener"/>). The instruments stay per type, named by it.
/// </summary>
internal abstract class OutputInstanceMetrics
{
    private static readonly Meter SharedMeter = new(OutputMetrics.MeterName);

    private readonly KeyValuePair<string, object?> _tag;

    protected OutputInstanceMetrics(string instanceName)
    {
        _tag = new KeyValuePair<string, object?>("output", instanceName);
    }

    protected static Counter<long> CreateCounter(string name, string unit, string description) =>
        SharedMeter.CreateCounter<long>(name, unit, description);

    protected void Add(Counter<long> counter, long value) => counter.Add(value, _tag);

    /// <summary>Adds to the instrument and to this instance's <paramref name="total"/>.</summary>
    protected void Add(Counter<long> counter, long value, ref long total)
    {
        Interlocked.Add(ref total, value);
        counter.Add(value, _tag);
    }
}
