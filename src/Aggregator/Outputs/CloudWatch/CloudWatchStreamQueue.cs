namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// A record waiting in a stream's queue: its chunk, where its escaped message is in the chunk's plan, the
/// message's size as CloudWatch counts it, and when it happened.
/// </summary>
internal readonly record struct CloudWatchQueuedEvent(CloudWatchPendingChunk Chunk, long TimestampMs, int Offset, int Length, int MessageBytes, int Sequence, long Arrival)
{
    public long RequestBytes => MessageBytes + CloudWatchOutputSettings.EventOverheadBytes;
}

/// <summary>
/// The records of one (group, stream) waiting to be sent, from any number of chunks, in arrival order. A request
/// is cut from the front once a full one is there (10,000 events or 1 MiB) or the oldest record has waited its
/// flush interval. At most one sender works a queue at a time, so a stream's requests go out in order.
/// All members are used under <see cref="Gate"/>.
/// </summary>
internal sealed class CloudWatchStreamQueue
{
    private const long MaxSpanMs = 24L * 60 * 60 * 1000;

    private readonly List<CloudWatchQueuedEvent> _events = [];
    private long _nextArrival;

    public Lock Gate { get; } = new();

    public int Count => _events.Count;

    /// <summary>Request bytes of everything queued (message + 26 per event, as CloudWatch counts).</summary>
    public long Bytes { get; private set; }

    /// <summary>A sender is working this queue.</summary>
    public bool Sending { get; set; }

    /// <summary>Records that arrived before this are due now, whatever their age (SendPending, a timer, shutdown).</summary>
    public long DueBefore { get; set; }

    /// <summary>Fires when the oldest record's flush interval is over; created on first use.</summary>
    public ITimer? Timer { get; set; }

    public bool HasFullRequest => _events.Count >= CloudWatchOutputSettings.MaxBatchEvents || Bytes >= CloudWatchOutputSettings.MaxBatchBytes;

    public long NextArrival => _nextArrival;

    /// <summary>The oldest queued record (the queue is not empty).</summary>
    public CloudWatchQueuedEvent Oldest => _events[0];

    public void Add(CloudWatchPendingChunk chunk, in CloudWatchPlannedEvent planned)
    {
        var queued = new CloudWatchQueuedEvent(chunk, planned.TimestampMs, planned.Offset, planned.Length, planned.MessageBytes, planned.Sequence, _nextArrival++);
        _events.Add(queued);
        Bytes += queued.RequestBytes;
    }

    /// <summary>
    /// Moves the next request's records into <paramref name="request"/>: from the front, at most 10,000 (and the
    /// array's length) and
    /// 1,048,576 bytes, sorted by time (arrival breaks ties), and spanning less than 24 hours — what does not
    /// fit the span goes back to the front. Returns how many.
    /// </summary>
    public int TakeRequest(CloudWatchQueuedEvent[] request)
    {
        var count = 0;
        long bytes = 0; // of this request
        var most = Math.Min(request.Length, CloudWatchOutputSettings.MaxBatchEvents);
        while (count < _events.Count && count < most)
        {
            var size = _events[count].RequestBytes;
            if (bytes + size > CloudWatchOutputSettings.MaxBatchBytes)
            {
                break;
            }

            bytes += size;
            count++;
        }

        _events.CopyTo(0, request, 0, count);
        var taken = request.AsSpan(0, count);
        if (!IsSorted(taken))
        {
            taken.Sort(static (a, b) =>
            {
                var c = a.TimestampMs.CompareTo(b.TimestampMs);
                return c != 0 ? c : a.Arrival.CompareTo(b.Arrival);
            });
        }

        var first = taken[0].TimestampMs;
        var keep = count;
        while (taken[keep - 1].TimestampMs - first >= MaxSpanMs)
        {
            keep--;
        }

        if (keep < count)
        {
            // Records over a day later than the first wait for the next request, still ahead of newer arrivals.
            _events.RemoveRange(0, count);
            _events.InsertRange(0, taken[keep..].ToArray());
            count = keep;
        }
        else
        {
            _events.RemoveRange(0, count);
        }

        long sent = 0;
        for (var i = 0; i < count; i++)
        {
            sent += taken[i].RequestBytes;
        }

        Bytes -= sent;
        return count;
    }

    /// <summary>Takes every queued record out (the stream failed: they go back to the engine with their chunks).</summary>
    public CloudWatchQueuedEvent[] TakeAll()
    {
        var all = _events.ToArray();
        _events.Clear();
        Bytes = 0;
        return all;
    }

    private static bool IsSorted(ReadOnlySpan<CloudWatchQueuedEvent> events)
    {
        for (var i = 1; i < events.Length; i++)
        {
            if (events[i].TimestampMs < events[i - 1].TimestampMs)
            {
                return false;
            }
        }

        return true;
    }
}
