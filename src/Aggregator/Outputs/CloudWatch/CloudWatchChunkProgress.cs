using System.Runtime.InteropServices;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// Remembers which records of a chunk were already delivered when a flush hands the chunk back with Retry, so
/// the engine's retry of the same chunk sends only the rest: a partly throttled chunk is delivered once, not
/// twice. A chunk is known by its tag and plan (every formatted message with its time, in plan order): the plan
/// is made deterministically from the chunk's bytes, so key and record numbers match across tries, and it stays
/// valid for the whole flush while the chunk's own bytes may be reused once the flush waits.
/// Bounded: the oldest entries go first when full (those chunks then fall back to at-least-once).
/// </summary>
internal sealed class CloudWatchChunkProgress
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ChunkKey, bool[]> _delivered = [];
    private readonly Queue<ChunkKey> _order = new();
    private readonly int _capacity;

    public CloudWatchChunkProgress(int capacity = 4096)
    {
        _capacity = capacity;
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _delivered.Count;
            }
        }
    }

    /// <summary>By record sequence, what earlier tries of this chunk delivered; null when nothing is known.</summary>
    public bool[]? Find(string tag, CloudWatchFlushPlan plan)
    {
        lock (_gate)
        {
            if (_delivered.Count == 0)
            {
                return null;
            }
        }

        var key = ChunkKey.Of(tag, plan);
        lock (_gate)
        {
            return _delivered.TryGetValue(key, out var delivered) ? delivered : null;
        }
    }

    public void Remember(string tag, CloudWatchFlushPlan plan, bool[] delivered)
    {
        var key = ChunkKey.Of(tag, plan);
        lock (_gate)
        {
            if (!_delivered.ContainsKey(key))
            {
                _order.Enqueue(key);
                while (_order.Count > _capacity && _order.TryDequeue(out var oldest))
                {
                    _delivered.Remove(oldest);
                }
            }

            _delivered[key] = delivered;
        }
    }

    public void Forget(string tag, CloudWatchFlushPlan plan)
    {
        lock (_gate)
        {
            if (_delivered.Count == 0)
            {
                return;
            }
        }

        var key = ChunkKey.Of(tag, plan);
        lock (_gate)
        {
            _delivered.Remove(key);
        }
    }

    private readonly record struct ChunkKey(string Tag, int MessageBytes, int Count, int Hash, int Hash2)
    {
        public static ChunkKey Of(string tag, CloudWatchFlushPlan plan)
        {
            var first = new HashCode();
            plan.Messages.AddTo(ref first);
            var second = new HashCode();
            second.AddBytes(MemoryMarshal.AsBytes(tag.AsSpan()));
            foreach (ref readonly var e in plan.Events)
            {
                // Where each message is and when it happened: two chunks alike in text but not in time differ.
                second.Add(e.TimestampMs);
                second.Add(e.Length);
            }

            return new ChunkKey(tag, plan.Messages.WrittenCount, plan.EventCount, first.ToHashCode(), second.ToHashCode());
        }
    }
}
