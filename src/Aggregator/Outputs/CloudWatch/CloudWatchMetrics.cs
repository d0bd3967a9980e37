using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>CloudWatch delivery counters on the <c>Gateway</c> meter, tagged with the output instance.</summary>
internal sealed class CloudWatchMetrics
{
    private static readonly Meter SharedMeter = new(OutputMetrics.MeterName);
    private static readonly Counter<long> EventsIn = SharedMeter.CreateCounter<long>("gateway.cloudwatch.events_in", "{event}", "Events the CloudWatch output was handed");
    private static readonly Counter<long> EventsSent = SharedMeter.CreateCounter<long>("gateway.cloudwatch.events_sent", "{event}", "Events CloudWatch accepted");
    private static readonly Counter<long> EventsRejected = SharedMeter.CreateCounter<long>("gateway.cloudwatch.events_rejected", "{event}", "Events CloudWatch rejected (too old/new, invalid)");
    private static readonly Counter<long> EventsSkipped = SharedMeter.CreateCounter<long>("gateway.cloudwatch.events_skipped", "{event}", "Events not sent: empty message or missing log_key");
    private static readonly Counter<long> EventsTruncated = SharedMeter.CreateCounter<long>("gateway.cloudwatch.events_truncated", "{event}", "Events cut to the per-event size limit");
    private static readonly Counter<long> Requests = SharedMeter.CreateCounter<long>("gateway.cloudwatch.requests", "{request}", "CloudWatch Logs API calls");
    private static readonly Counter<long> PutRequests = SharedMeter.CreateCounter<long>("gateway.cloudwatch.put_requests", "{request}", "PutLogEvents calls (each a request of up to 10,000 events / 1 MiB, retries included)");
    private static readonly Counter<long> Throttled = SharedMeter.CreateCounter<long>("gateway.cloudwatch.throttled", "{request}", "Calls answered with throttling, 5xx or a network error");
    private static readonly Counter<long> NameFallbacks = SharedMeter.CreateCounter<long>("gateway.cloudwatch.name_fallbacks", "{event}", "Events whose group/stream template rendered nothing and used the static name");

    private readonly KeyValuePair<string, object?> _tag;
    private long _eventsSent;
    private long _eventsRejected;
    private long _eventsSkipped;
    private long _eventsTruncated;
    private long _nameFallbacks;
    private long _putRequests;

    public CloudWatchMetrics(string instanceName)
    {
        _tag = new KeyValuePair<string, object?>("output", instanceName);
    }

    public long SentCount => Interlocked.Read(ref _eventsSent);

    public long RejectedCount => Interlocked.Read(ref _eventsRejected);

    public long SkippedCount => Interlocked.Read(ref _eventsSkipped);

    public long TruncatedCount => Interlocked.Read(ref _eventsTruncated);

    public long NameFallbackCount => Interlocked.Read(ref _nameFallbacks);

    public long PutRequestCount => Interlocked.Read(ref _putRequests);

    public void Received(int events) => EventsIn.Add(events, _tag);

    public void Sent(int events)
    {
        Interlocked.Add(ref _eventsSent, events);
        EventsSent.Add(events, _tag);
    }

    public void Rejected(int events)
    {
        Interlocked.Add(ref _eventsRejected, events);
        EventsRejected.Add(events, _tag);
    }

    public void Skipped()
    {
        Interlocked.Increment(ref _eventsSkipped);
        EventsSkipped.Add(1, _tag);
    }

    public void Truncated()
    {
        Interlocked.Increment(ref _eventsTruncated);
        EventsTruncated.Add(1, _tag);
    }

    public void NameFallback()
    {
        Interlocked.Increment(ref _nameFallbacks);
        NameFallbacks.Add(1, _tag);
    }

    public void PutRequest(bool transientFailure)
    {
        Interlocked.Increment(ref _putRequests);
        PutRequests.Add(1, _tag);
        Request(transientFailure);
    }

    public void Request(bool transientFailure)
    {
        Requests.Add(1, _tag);
        if (transientFailure)
        {
            Throttled.Add(1, _tag);
        }
    }
}
