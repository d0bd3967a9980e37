using System.Buffers;
using System.Buffers.Text;
using Gateway.Engine.Json;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>One record routed and formatted: where its message bytes are and when it happened.</summary>
internal readonly record struct CloudWatchPlannedEvent(int Target, long TimestampMs, int Offset, int Length, int Sequence);

/// <summary>A PutLogEvents request's worth of consecutive planned events of one stream.</summary>
internal readonly record struct CloudWatchBatch(int Stream, int Start, int Count, long Bytes, long SpanMs);

/// <summary>A byte buffer from the pool that can also be cut back (a skipped or truncated message).</summary>
internal sealed class CloudWatchMessageBuffer : IBufferWriter<byte>, IDisposable
{
    private byte[] _buffer;
    private int _written;

    public CloudWatchMessageBuffer(int initialCapacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initialCapacity, 256));
    }

    public int WrittenCount => _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public void Truncate(int length) => _written = Math.Min(_written, length);

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer.Length - _written >= sizeHint)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>
/// The work of one flush: every record's formatted message in one pooled buffer, the (target, time) index of
/// each, and the batches cut from it at CloudWatch's PutLogEvents limits.
/// </summary>
internal sealed class CloudWatchFlushPlan : IDisposable
{
    private const long MaxSpanMs = 24L * 60 * 60 * 1000;

    private readonly Dictionary<CloudWatchStreamTarget, int> _targetIndexes = new(ReferenceEqualityComparer.Instance);
    private CloudWatchPlannedEvent[] _events;
    private int _count;

    public CloudWatchFlushPlan(int eventCapacity, int chunkBytes)
    {
        _events = ArrayPool<CloudWatchPlannedEvent>.Shared.Rent(Math.Max(eventCapacity, 1));
        Messages = new CloudWatchMessageBuffer(chunkBytes + 1024);
    }

    public CloudWatchMessageBuffer Messages { get; }

    public List<CloudWatchStreamTarget> Streams { get; } = [];

    public List<CloudWatchBatch> Batches { get; } = [];

    public int EventCount => _count;

    public long MessageBytes { get; private set; }

    public ReadOnlySpan<CloudWatchPlannedEvent> Events => _events.AsSpan(0, _count);

    public int TargetIndex(CloudWatchStreamTarget target)
    {
        if (!_targetIndexes.TryGetValue(target, out var index))
        {
            index = Streams.Count;
            Streams.Add(target);
            _targetIndexes[target] = index;
        }

        return index;
    }

    public void Add(in CloudWatchPlannedEvent planned)
    {
        if (_count == _events.Length)
        {
            var bigger = ArrayPool<CloudWatchPlannedEvent>.Shared.Rent(_events.Length * 2);
            _events.AsSpan(0, _count).CopyTo(bigger);
            ArrayPool<CloudWatchPlannedEvent>.Shared.Return(_events);
            _events = bigger;
        }

        _events[_count++] = planned;
        MessageBytes += planned.Length;
    }

    /// <summary>
    /// Sorts by (stream, time, arrival) — CloudWatch wants each request in time order and arrival breaks ties so
    /// equal timestamps keep their order — and cuts the batches: ≤ 10,000 events, ≤ 1,048,576 bytes counting
    /// 26 per event, ≤ 24 h from first to last.
    /// </summary>
    public void Cut()
    {
        var events = _events.AsSpan(0, _count);
        events.Sort(static (a, b) =>
        {
            var c = a.Target.CompareTo(b.Target);
            if (c != 0)
            {
                return c;
            }

            c = a.TimestampMs.CompareTo(b.TimestampMs);
            return c != 0 ? c : a.Sequence.CompareTo(b.Sequence);
        });

        var i = 0;
        while (i < events.Length)
        {
            var start = i;
            var target = events[i].Target;
            var first = events[i].TimestampMs;
            long bytes = 0;
            while (i < events.Length
                && events[i].Target == target
                && i - start < CloudWatchOutputSettings.MaxBatchEvents
                && bytes + events[i].Length + CloudWatchOutputSettings.EventOverheadBytes <= CloudWatchOutputSettings.MaxBatchBytes
                && events[i].TimestampMs - first < MaxSpanMs)
            {
                bytes += events[i].Length + CloudWatchOutputSettings.EventOverheadBytes;
                i++;
            }

            Batches.Add(new CloudWatchBatch(target, start, i - start, bytes, events[i - 1].TimestampMs - first));
        }
    }

    /// <summary>Writes the batch as the API's <c>logEvents</c> array: <c>[{"timestamp":ms,"message":"..."},...]</c>.</summary>
    public void EncodeBatch(in CloudWatchBatch batch, IBufferWriter<byte> output)
    {
        var messages = Messages.WrittenSpan;
        output.Write("["u8);
        for (var i = batch.Start; i < batch.Start + batch.Count; i++)
        {
            ref readonly var e = ref _events[i];
            output.Write(i == batch.Start ? "{\"timestamp\":"u8 : ",{\"timestamp\":"u8);
            var span = output.GetSpan(20);
            Utf8Formatter.TryFormat(e.TimestampMs, span, out var written);
            output.Advance(written);
            output.Write(",\"message\":\""u8);
            FluentJson.WriteEscaped(messages.Slice(e.Offset, e.Length), output, FluentJsonFlags.RawUnicode);
            output.Write("\"}"u8);
        }

        output.Write("]"u8);
    }

    public void Dispose()
    {
        Messages.Dispose();
        var events = _events;
        _events = [];
        if (events.Length > 0)
        {
            ArrayPool<CloudWatchPlannedEvent>.Shared.Return(events);
        }
    }
}
