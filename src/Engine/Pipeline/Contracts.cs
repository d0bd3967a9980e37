using System.Buffers;
using Gateway.Engine.Records;

namespace Gateway.Engine.Pipeline;

/// <summary>What an output says about one flush, as Fluent Bit's FLB_OK / FLB_RETRY / FLB_ERROR.</summary>
public enum FlushResult
{
    /// <summary>Delivered; the chunk is done for this output.</summary>
    Ok,

    /// <summary>Temporary failure; the engine retries the chunk under the output's retry policy.</summary>
    Retry,

    /// <summary>Permanent failure; the chunk goes to the dead-letter place for this output.</summary>
    Error,
}

/// <summary>
/// An output plugin instance. The engine calls <see cref="FlushAsync"/> with one chunk at a time per worker;
/// the chunk's memory is valid until the returned task completes.
/// </summary>
public interface IOutput : IAsyncDisposable
{
    /// <summary>The instance name used in metrics and logs, e.g. <c>file.0</c>.</summary>
    string Name { get; }

    ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken);
}

/// <summary>What a filter did to a chunk.</summary>
public enum FilterOutcome
{
    /// <summary>Nothing changed: the engine keeps the original bytes (no copy).</summary>
    NotTouched,

    /// <summary>The filter wrote the new events to the output writer (possibly none: all dropped).</summary>
    Modified,
}

/// <summary>
/// A filter plugin instance, as Fluent Bit's filter callback: it sees a chunk's events and either leaves them
/// alone or writes a replacement run of events.
/// </summary>
public interface IFilter
{
    string Name { get; }

    FilterOutcome Filter(EventChunk chunk, IBufferWriter<byte> output, out int outputEventCount);
}

/// <summary>
/// Where inputs hand their chunks. The returned task completes only when the chunk is stored per the buffer's
/// durability setting (so an input may acknowledge its sender), and waits while the buffer is full
/// (backpressure): inputs stop reading instead of dropping. The chunk's bytes are only lent until the returned
/// task completes (inputs return pooled buffers then): a sink that keeps them must copy.
/// </summary>
public interface IChunkSink
{
    ValueTask AppendAsync(EventChunk chunk, CancellationToken cancellationToken);
}
