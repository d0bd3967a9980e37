using System.Runtime.InteropServices;
using Gateway.Engine.Records;

namespace Gateway.Aggregator.Outputs.Kinesis;

/// <summary>
/// Remembers which batches of a chunk were already delivered when a flush hands the chunk back with Retry, so
/// the engine's retry of the same chunk sends only the rest: a partly throttled chunk is delivered once, not
/// twice (Kinesis outputs take one chunk per flush, so the chunk's bytes identify it across tries). Requests are planned deterministically from the chunk's bytes, so their ordinals match across tries.
/// Bounded: the oldest entries go first when full (those chunks then fall back to at-least-once).
/// </summary>
internal sealed class KinesisChunkProgress
{
    private readonly Lock _gate = new();
    private readonly Dictionary<ChunkKey, HashSet<int>> _delivered = [];
    private readonly Queue<ChunkKey> _order = new();
    private readonly int _capacity;

    public KinesisChunkProgress(int capacity = 4096)
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

    /// <summary>Batches delivered by earlier tries of this chunk, or null.</summary>
    public HashSet<int>? Find(EventChunk chunk)
    {
        lock (_gate)
        {
            if (_delivered.Count == 0)
            {
                return null;
            }
        }

        var key = ChunkKey.Of(chunk);
        lock (_gate)
        {
            return _delivered.TryGetValue(key, out var set) ? [.. set] : null;
        }
    }

    public void Remember(EventChunk chunk, HashSet<int> deliveredBatches)
    {
        var key = ChunkKey.Of(chunk);
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

            _delivered[key] = deliveredBatches;
        }
    }

    public void Forget(EventChunk chunk)
    {
        lock (_gate)
        {
            if (_delivered.Count == 0)
            {
                return;
            }
        }

        var key = ChunkKey.Of(chunk);
        lock (_gate)
        {
            _delivered.Remove(key);
        }
    }

    private readonly record struct ChunkKey(string Tag, int Length, int Count, int Hash, int Hash2)
    {
        public static ChunkKey Of(EventChunk chunk)
        {
            var bytes = chunk.Events.Span;
            var first = new HashCode();
            first.AddBytes(bytes);
            var second = new HashCode();
            second.Add(bytes.Length);
            second.AddBytes(MemoryMarshal.AsBytes(chunk.Tag.AsSpan()));
            if (bytes.Length > 0)
            {
                second.AddBytes(bytes[(bytes.Length / 2)..]);
            }

            return new ChunkKey(chunk.Tag, bytes.Length, chunk.EventCount, first.ToHashCode(), second.ToHashCode());
        }
    }
}
