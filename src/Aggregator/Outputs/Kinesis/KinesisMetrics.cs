using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Outputs.Kinesis;

/// <summary>Firehose / Kinesis delivery counters on the <c>Gateway</c> meter, tagged with the output instance.</summary>
internal sealed class KinesisMetrics
{
    private static readonly Meter SharedMeter = new(OutputMetrics.MeterName);
    private static readonly Counter<long> EventsIn = SharedMeter.CreateCounter<long>("gateway.kinesis.events_in", "{event}", "Events the Firehose/Kinesis output was handed");
    private static readonly Counter<long> RecordsSent = SharedMeter.CreateCounter<long>("gateway.kinesis.records_sent", "{record}", "Service records Firehose/Kinesis accepted");
    private static readonly Counter<long> RecordsRetried = SharedMeter.CreateCounter<long>("gateway.kinesis.records_retried", "{record}", "Records resent after a per-record failure (FailedPutCount/FailedRecordCount)");
    private static readonly Counter<long> RecordsDropped = SharedMeter.CreateCounter<long>("gateway.kinesis.records_dropped", "{record}", "Records not sent: over the size limit, no log_key, or refused by the service");
    private static readonly Counter<long> Requests = SharedMeter.CreateCounter<long>("gateway.kinesis.requests", "{request}", "PutRecordBatch/PutRecords calls");
    private static readonly Counter<long> Throttled = SharedMeter.CreateCounter<long>("gateway.kinesis.throttled", "{request}", "Calls answered with throttling, 5xx or a network error");

    private readonly KeyValuePair<string, object?> _tag;
    private long _sent;
    private long _retried;
    private long _dropped;

    public KinesisMetrics(string instanceName)
    {
        _tag = new KeyValuePair<string, object?>("output", instanceName);
    }

    public long SentCount => Interlocked.Read(ref _sent);

    public long RetriedCount => Interlocked.Read(ref _retried);

    public long DroppedCount => Interlocked.Read(ref _dropped);

    public void Received(int events) => EventsIn.Add(events, _tag);

    public void Sent(int records)
    {
        Interlocked.Add(ref _sent, records);
        RecordsSent.Add(records, _tag);
    }

    public void Retried(int records)
    {
        Interlocked.Add(ref _retried, records);
        RecordsRetried.Add(records, _tag);
    }

    public void Dropped(int records)
    {
        if (records <= 0)
        {
            return;
        }

        Interlocked.Add(ref _dropped, records);
        RecordsDropped.Add(records, _tag);
    }

    public void Request(bool throttled)
    {
        Requests.Add(1, _tag);
        if (throttled)
        {
            Throttled.Add(1, _tag);
        }
    }
}
