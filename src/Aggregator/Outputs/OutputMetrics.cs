using System.Diagnostics.Metrics;
using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator.Outputs;

/// <summary>Per-output delivery counters on the <c>Gateway</c> meter, tagged with the instance name.</summary>
internal sealed class OutputMetrics
{
    public const string MeterName = "Gateway";

    private static readonly Meter SharedMeter = new(MeterName);
    private static readonly Counter<long> RecordsOut = SharedMeter.CreateCounter<long>("gateway.output.records_out", "{record}", "Records an output delivered");
    private static readonly Counter<long> BytesOut = SharedMeter.CreateCounter<long>("gateway.output.bytes_out", "By", "Bytes an output wrote or sent");
    private static readonly Counter<long> Errors = SharedMeter.CreateCounter<long>("gateway.output.errors", "{chunk}", "Flushes that failed permanently");
    private static readonly Counter<long> Retries = SharedMeter.CreateCounter<long>("gateway.output.retries", "{chunk}", "Flushes that asked for a retry");

    private readonly KeyValuePair<string, object?> _tag;

    public OutputMetrics(string instanceName)
    {
        _tag = new KeyValuePair<string, object?>("output", instanceName);
    }

    public void Delivered(long records, long bytes)
    {
        RecordsOut.Add(records, _tag);
        BytesOut.Add(bytes, _tag);
    }

    public void Error() => Errors.Add(1, _tag);

    public void Retry() => Retries.Add(1, _tag);

    /// <summary>Counts the outcome of a flush that did not deliver.</summary>
    public FlushResult Failed(FlushResult result)
    {
        if (result == FlushResult.Retry)
        {
            Retry();
        }
        else if (result == FlushResult.Error)
        {
            Error();
        }

        return result;
    }
}
