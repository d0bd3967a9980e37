using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>CloudWatch delivery counters on the <c>Gateway</c> meter, tagged with the output instance.</summary>
internal sealed class CloudWatchMetrics(string instanceName) : OutputInstanceMetrics(instanceName)
{
    private static readonly Counter<long> EventsIn = CreateCounter("gateway.cloudwatch.events_in", "{event}", "Events the CloudWatch output was handed");
    private static readonly Counter<long> EventsSent = CreateCounter("gateway.cloudwatch.events_sent", "{event}", "Events CloudWatch accepted");
    private static readonly Counter<long> EventsRejected = CreateCounter("gateway.cloudwatch.events_rejected", "{event}", "Events CloudWatch rejected (too old/new, invalid)");
    private static readonly Counter<long> EventsSkipped = CreateCounter("gateway.cloudwatch.events_skipped", "{event}", "Events not sent: empty message or missing log_key");
    private static readonly Counter<long> EventsTruncated = CreateCounter("gateway.cloudwatch.events_truncated", "{event}", "Events cut to the per-event size limit");
    private static readonly Counter<long> Requests = CreateCounter("gateway.cloudwatch.requests", "{request}", "CloudWatch Logs API calls");
    private static readonly Counter<long> PutRequests = CreateCounter("gateway.cloudwatch.put_requests", "{request}", "PutLogEvents calls (each a request of up to 10,000 events / 1 MiB, retries included)");
    private static readonly Counter<long> Throttled = CreateCounter("gateway.cloudwatch.throttled", "{request}", "Calls answered with throttling, 5xx or a network error");
    private static readonly Counter<long> NameFallbacks = CreateCounter("gateway.cloudwatch.name_fallbacks", "{event}", "Events whose group/stream template rendered nothing and used the static name");

    private long _eventsSent;
    private long _eventsRejected;
    private long _eventsSkipped;
    private long _eventsTruncated;
    private long _nameFallbacks;
    private long _putRequests;

    public long SentCount => Interlocked.Read(ref _eventsSent);

    public long RejectedCount => Interlocked.Read(ref _eventsRejected);

    public long SkippedCount => Interlocked.Read(ref _eventsSkipped);

    public long TruncatedCount => Interlocked.Read(ref _eventsTruncated);

    public long NameFallbackCount => Interlocked.Read(ref _nameFallbacks);

    public long PutRequestCount => Interlocked.Read(ref _putRequests);

    public void Received(int events) => Add(EventsIn, events);

    public void Sent(int events) => Add(EventsSent, events, ref _eventsSent);

    public void Rejected(int events) => Add(EventsRejected, events, ref _eventsRejected);

    public void Skipped() => Add(EventsSkipped, 1, ref _eventsSkipped);

    public void Truncated() => Add(EventsTruncated, 1, ref _eventsTruncated);

    public void NameFallback() => Add(NameFallbacks, 1, ref _nameFallbacks);

    public void PutRequest(bool transientFailure)
    {
        Add(PutRequests, 1, ref _putRequests);
        Request(transientFailure);
    }

    public void Request(bool transientFailure)
    {
        Add(Requests, 1);
        if (transientFailure)
        {
            Add(Throttled, 1);
        }
    }
}
