using System.Buffers;
using Gateway.Engine.Buffers;

namespace Gateway.Aggregator.Buffer;

/// <summary>
/// One chunk in the buffer. Its bytes are either "up" (a pooled array counted against a <see cref="ByteBudget"/>)
/// or "down" (only on disk, read back when an output needs them), as Fluent Bit's chunk up/down states. The chunk
/// is finished, its memory returned and its segment told, when every output it was routed to is done with it.
/// </summary>
internal sealed class BufferedChunk
{
    private byte[]? _data;
    private ByteBudget? _dataBudget;
    private ByteBudget? _upSlots;
    private int _pendingOutputs;

    public BufferedChunk(long id, string tag, string? nodeName, int eventCount, int length)
    {
        Id = id;
        Tag = tag;
        NodeName = nodeName;
        EventCount = eventCount;
        Length = length;
    }

    /// <summary>Store-assigned id; unique within a segment (memory chunks use the same counter).</summary>
    public long Id { get; internal set; }

    public string Tag { get; }

    public string? NodeName { get; }

    public int EventCount { get; }

    public int Length { get; }

    /// <summary>The segment holding the chunk's frame; null for memory-only chunks.</summary>
    public Segment? Segment { get; internal set; }

    /// <summary>File offset of the payload within <see cref="Segment"/>.</summary>
    public long PayloadOffset { get; internal set; }

    public bool IsUp => Volatile.Read(ref _data) is not null;

    /// <summary>The up bytes; only valid while the chunk is unfinished.</summary>
    public ReadOnlyMemory<byte> Data => _data is { } d ? d.AsMemory(0, Length) : ReadOnlyMemory<byte>.Empty;

    /// <summary>
    /// Takes ownership of a pooled array (at least <see cref="Length"/> bytes) held against a byte budget and, for
    /// a filesystem chunk, one of the <c>storage.max_chunks_up</c> slots (a budget counting chunks).
    /// </summary>
    public void Adopt(byte[] pooledArray, ByteBudget? budget, ByteBudget? upSlots = null)
    {
        _data = pooledArray;
        _dataBudget = budget;
        _upSlots = upSlots;
    }

    /// <summary>Sets how many outputs must finish this chunk; done once, before it is queued anywhere.</summary>
    public void SetPendingOutputs(int count) => _pendingOutputs = count;

    /// <summary>
    /// One output is done (delivered or dead-lettered). Returns true when it was the last, after releasing memory
    /// and telling the segment.
    /// </summary>
    public bool OutputFinished()
    {
        if (Interlocked.Decrement(ref _pendingOutputs) != 0)
        {
            return false;
        }

        ReleaseData();
        Segment?.ChunkFinished();
        return true;
    }

    /// <summary>Frees the up bytes (finished, or dropped from memory at shutdown).</summary>
    public void ReleaseData()
    {
        var data = Interlocked.Exchange(ref _data, null);
        if (data is not null)
        {
            _dataBudget?.Release(Length);
            _dataBudget = null;
            _upSlots?.Release(1);
            _upSlots = null;
            ChunkBufferPool.Shared.Return(data);
        }
    }
}
