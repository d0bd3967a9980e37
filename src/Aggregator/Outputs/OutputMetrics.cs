using System.Diagnostics.Metrics;
using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator.Outputs;

/// <summary>Per-output delivery counters on the <c>Gateway</c> meter, tagged with the instance name.</summary>
internal sealed class OutputMetrics(string instanceName) : OutputInstanceMetrics(instanceName)
{
    public const string MeterName = "Gateway";

    private static readonly Counter<long> RecordsOut = CreateCounter("gateway.output.records_out", "{record}", "Records an output delivered");
    private static readonly Counter<long> BytesOut = CreateCounter("gateway.output.bytes_out", "By", "Bytes an output wrote or sent");
    private static readonly Counter<long> Errors = CreateCounter("gateway.output.errors", "{chunk}", "Flushes that failed permanently");
    private static readonly Counter<long> Retries = CreateCounter("gateway.output.retries", "{chunk}", "Flushes that asked for a retry");

    public void Delivered(long records, long bytes)
    {
        Add(RecordsOut, records);
        Add(BytesOut, bytes);
    }

    public void Error() => Add(Errors, 1);

    public void Retry() => Add(Retries, 1);

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
