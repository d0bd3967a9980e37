using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator.Outputs;

/// <summary>
/// An output that builds its own requests from the records of many chunks (CloudWatch Logs takes up to 10,000
/// events per request; one forward chunk is often a tenth of that). Its <see cref="IOutput.FlushAsync"/> takes a
/// chunk's records into per-destination batches and completes once they are all delivered, so the engine keeps
/// up to <see cref="MaxChunksInFlight"/> chunks inside FlushAsync at once — as OpenTelemetry's batch export
/// processor gathers spans until a batch is full or its delay passes. The engine starts those flushes in queue
/// order, one after another (so records keep their order), and awaits them side by side. Chunks in flight stay
/// charged to the engine's memory budget until their flush returns; a chunk read back from disk is released (and
/// its backlog budget with it) once the flush is waiting, so the output must have copied what it keeps by then —
/// unlike a plain <see cref="IOutput"/>, whose chunk memory is valid until the flush completes.
/// </summary>
internal interface IBatchingOutput : IOutput
{
    /// <summary>How many chunks the engine may have inside <see cref="IOutput.FlushAsync"/> at once (≥ 1).</summary>
    int MaxChunksInFlight { get; }

    /// <summary>
    /// Send what is held now instead of waiting for full batches or the flush interval: the engine cannot hand
    /// over more chunks for a while (the in-flight window or the memory budget is full) or is shutting down.
    /// </summary>
    void SendPending();

    /// <summary>
    /// Completes when the output has room for another chunk (what it holds is under its own memory bound). The
    /// engine awaits it before loading the next chunk, so a slow destination slows intake instead of growing
    /// memory. The output itself starts sending what frees room.
    /// </summary>
    ValueTask WaitForRoomAsync(CancellationToken cancellationToken);
}
