using System.Diagnostics.Metrics;

namespace Gateway.Shipper.Pipeline;

/// <summary>
/// Counters of the node → aggregator stage (meter <c>Gateway</c>): chunks received from the inputs, acknowledged
/// by the aggregator, resent, and the depth of the queue between the inputs and the senders. The same numbers are
/// kept as fields for the shutdown summary and tests.
/// </summary>
internal sealed class ShipperMetrics
{
    private static readonly Meter Meter = new("Gateway");
    private static readonly Counter<long> ChunksReceived = Meter.CreateCounter<long>("gateway.shipper.chunks_received", description: "Chunks handed to the shipper's senders by its inputs");
    private static readonly Counter<long> ChunksAcked = Meter.CreateCounter<long>("gateway.shipper.chunks_acked", description: "Chunks the aggregator acknowledged");
    private static readonly Counter<long> RecordsAcked = Meter.CreateCounter<long>("gateway.shipper.records_acked", description: "Records in chunks the aggregator acknowledged");
    private static readonly Counter<long> BytesAcked = Meter.CreateCounter<long>("gateway.shipper.bytes_acked", "By", "Event bytes in chunks the aggregator acknowledged");
    private static readonly Counter<long> Resends = Meter.CreateCounter<long>("gateway.shipper.resends", description: "Chunks sent again after the aggregator did not acknowledge them");

    private long _received;
    private long _acked;
    private long _records;
    private long _resends;

    public ShipperMetrics(Func<int> queueDepth)
    {
        Meter.CreateObservableGauge("gateway.shipper.queue_depth", queueDepth, description: "Chunks waiting for a sender");
    }

    public long Received => Interlocked.Read(ref _received);

    public long Acknowledged => Interlocked.Read(ref _acked);

    public long RecordsAcknowledged => Interlocked.Read(ref _records);

    public long ResendCount => Interlocked.Read(ref _resends);

    public void OnReceived()
    {
        Interlocked.Increment(ref _received);
        ChunksReceived.Add(1);
    }

    public void OnAcknowledged(int records, int bytes)
    {
        Interlocked.Increment(ref _acked);
        Interlocked.Add(ref _records, records);
        ChunksAcked.Add(1);
        RecordsAcked.Add(records);
        BytesAcked.Add(bytes);
    }

    public void OnResend()
    {
        Interlocked.Increment(ref _resends);
        Resends.Add(1);
    }
}
