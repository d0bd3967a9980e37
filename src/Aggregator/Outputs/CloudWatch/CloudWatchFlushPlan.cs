using System.Buffers;
using System.Runtime.CompilerServices;
using Gateway.Engine.Buffers;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// One record routed and formatted: where its escaped message is in the plan's pages (<paramref name="Offset"/>,
/// <paramref name="Length"/>), the message's own size as CloudWatch counts it (<paramref name="MessageBytes"/>,
/// UTF-8 before escaping), and when it happened.
/// </summary>
internal readonly record struct CloudWatchPlannedEvent(int Target, long TimestampMs, int Offset, int Length, int MessageBytes, int Sequence);

/// <summary>The pooled buffer one message is formatted into before it is stored escaped (and where it is cut to the maximum).</summary>
internal sealed class CloudWatchMessageBuffer : IRewindableBufferWriter, IDisposable
{
    private readonly ArrayPool<byte> _pool;
    private byte[] _buffer;
    private int _written;

    public CloudWatchMessageBuffer(int initialCapacity, ArrayPool<byte> pool)
    {
        _pool = pool;
        _buffer = pool.Rent(Math.Max(initialCapacity, 256));
    }

    public int WrittenCount => _written;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

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

    // Called for every token the JSON writers write: the check is inlined, growing is not.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Ensure(int sizeHint)
    {
        if (_buffer.Length - _written < Math.Max(sizeHint, 1))
        {
            Grow(Math.Max(sizeHint, 1));
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int sizeHint)
    {
        var bigger = _pool.Rent(Math.Max(_buffer.Length * 2, _written + sizeHint));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        _pool.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            _pool.Return(buffer);
        }
    }
}

/// <summary>
/// The work of one flush: every record's message, escaped for the request body, in pooled pages, and the
/// (target, time) index of each. It lives until the last of its records has been sent in some request (see
/// <see cref="CloudWatchPendingChunk"/>).
/// </summary>
internal sealed class CloudWatchFlushPlan : IDisposable
{
    private readonly Dictionary<CloudWatchStreamTarget, int> _targetIndexes = new(ReferenceEqualityComparer.Instance);
    private CloudWatchPlannedEvent[] _events;
    private int _count;

    public CloudWatchFlushPlan(int eventCapacity, CloudWatchPagePool pages)
    {
        _events = ArrayPool<CloudWatchPlannedEvent>.Shared.Rent(Math.Max(eventCapacity, 1));
        Messages = new CloudWatchMessagePages(pages);
    }

    public CloudWatchMessagePages Messages { get; }

    public List<CloudWatchStreamTarget> Streams { get; } = [];

    public int EventCount => _count;

    /// <summary>The messages' bytes as CloudWatch counts them (before escaping).</summary>
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
        MessageBytes += planned.MessageBytes;
    }

    /// <summary>
    /// Sorts by (stream, time, arrival) — CloudWatch wants each request in time order, and arrival breaks ties so
    /// equal timestamps keep their order — so each stream's records go into its queue as one ordered run.
    /// </summary>
    public void Sort()
    {
        _events.AsSpan(0, _count).Sort(static (a, b) =>
        {
            var c = a.Target.CompareTo(b.Target);
            if (c != 0)
            {
                return c;
            }

            c = a.TimestampMs.CompareTo(b.TimestampMs);
            return c != 0 ? c : a.Sequence.CompareTo(b.Sequence);
        });
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
