using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Outputs.Kinesis;

/// <summary>Firehose / Kinesis delivery counters on the <c>Gateway</c> meter, tagged with the output instance.</summary>
internal sealed class KinesisMetrics(string instanceName) : OutputInstanceMetrics(instanceName)
{
    private static readonly Counter<long> EventsIn = CreateCounter("gateway.kinesis.events_in", "{event}", "Events the Firehose/Kinesis output was handed");
    private static readonly Counter<long> RecordsSent = CreateCounter("gateway.kinesis.records_sent", "{record}", "Service records Firehose/Kinesis accepted");
    private static readonly Counter<long> RecordsRetried = CreateCounter("gateway.kinesis.records_retried", "{record}", "Records resent after a per-record failure (FailedPutCount/FailedRecordCount)");
    private static readonly Counter<long> RecordsDropped = CreateCounter("gateway.kinesis.records_dropped", "{record}", "Records not sent: over the size limit, no log_key, or refused by the service");
    private static readonly Counter<long> Requests = CreateCounter("gateway.kinesis.requests", "{request}", "PutRecordBatch/PutRecords calls");
    private static readonly Counter<long> Throttled = CreateCounter("gateway.kinesis.throttled", "{request}", "Calls answered with throttling, 5xx or a network error");

    private long _sent;
    private long _retried;
    private long _dropped;

    public long SentCount => Interlocked.Read(ref _sent);

    public long RetriedCount => Interlocked.Read(ref _retried);

    public long DroppedCount => Interlocked.Read(ref _dropped);

    public void Received(int events) => Add(EventsIn, events);

    public void Sent(int records) => Add(RecordsSent, records, ref _sent);

    public void Retried(int records) => Add(RecordsRetried, records, ref _retried);

    public void Dropped(int records)
    {
        if (records > 0)
        {
            Add(RecordsDropped, records, ref _dropped);
        }
    }

    public void Request(bool throttled)
    {
        Add(Requests, 1);
        if (throttled)
        {
            Add(Throttled, 1);
        }
    }
}
