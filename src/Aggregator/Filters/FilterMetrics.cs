using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// Per-filter counters on the <c>Gateway</c> meter, tagged with the filter instance name; added once per chunk,
/// never per record.
/// </summary>
internal static class FilterMetrics
{
    private static readonly Meter GatewayMeter = new("Gateway");

    private static readonly Counter<long> RecordsIn =
        GatewayMeter.CreateCounter<long>("gateway.filter.records_in", "{record}", "Records a filter looked at");

    private static readonly Counter<long> RecordsRewritten =
        GatewayMeter.CreateCounter<long>("gateway.filter.records_rewritten", "{record}", "Records a filter changed");

    private static readonly Counter<long> RecordsDropped =
        GatewayMeter.CreateCounter<long>("gateway.filter.records_dropped", "{record}", "Records a filter removed (grep, emptied records)");

    public static void Chunk(string filter, int recordsIn, int rewritten, int dropped)
    {
        var tag = new KeyValuePair<string, object?>("filter", filter);
        RecordsIn.Add(recordsIn, tag);
        if (rewritten > 0)
        {
            RecordsRewritten.Add(rewritten, tag);
        }

        if (dropped > 0)
        {
            RecordsDropped.Add(dropped, tag);
        }
    }
}
