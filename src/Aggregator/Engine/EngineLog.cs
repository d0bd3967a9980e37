using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Engine;

/// <summary>Engine log messages, event ids 1250-1299.</summary>
internal static partial class EngineLog
{
    [LoggerMessage(EventId = 1250, Level = LogLevel.Information, Message = "Engine started: {Outputs} output(s), {Filters} filter(s), storage {Storage}")]
    public static partial void Started(ILogger logger, int outputs, int filters, string storage);

    [LoggerMessage(EventId = 1251, Level = LogLevel.Information, Message = "Replay done: {Chunks} chunk(s) re-queued; ready")]
    public static partial void ReplayDone(ILogger logger, int chunks);

    [LoggerMessage(EventId = 1252, Level = LogLevel.Error, Message = "Replay failed; the engine stays not-ready")]
    public static partial void ReplayFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1253, Level = LogLevel.Warning, Message = "Output {Output} asked to retry chunk {ChunkId} ({Tag}, {Events} events); retry {Retry} in {Delay}")]
    public static partial void RetryScheduled(ILogger logger, string output, long chunkId, string tag, int events, int retry, TimeSpan delay);

    [LoggerMessage(EventId = 1254, Level = LogLevel.Warning, Message = "Output {Output} threw while flushing chunk {ChunkId} ({Tag}); treated as a retry")]
    public static partial void FlushThrew(ILogger logger, Exception exception, string output, long chunkId, string tag);

    [LoggerMessage(EventId = 1255, Level = LogLevel.Error, Message = "Output {Output} rejected chunk {ChunkId} ({Tag}, {Events} events): {Reason}; kept at {Path}")]
    public static partial void DeadLettered(ILogger logger, string output, long chunkId, string tag, int events, string reason, string path);

    [LoggerMessage(EventId = 1256, Level = LogLevel.Error, Message = "Output {Output} rejected chunk {ChunkId} ({Tag}, {Events} events): {Reason}; dropped (no dead-letter path configured: set storage.path or storage.rejected.path)")]
    public static partial void Dropped(ILogger logger, string output, long chunkId, string tag, int events, string reason);

    [LoggerMessage(EventId = 1257, Level = LogLevel.Error, Message = "Output {Output} rejected chunk {ChunkId} ({Tag}, {Events} events): {Reason}; writing the dead-letter file failed, dropped")]
    public static partial void DeadLetterFailed(ILogger logger, Exception exception, string output, long chunkId, string tag, int events, string reason);

    [LoggerMessage(EventId = 1258, Level = LogLevel.Error, Message = "Chunk {ChunkId} ({Tag}) could not be read back from disk for output {Output}; dropped for that output")]
    public static partial void ChunkUnreadable(ILogger logger, Exception exception, string output, long chunkId, string tag);

    [LoggerMessage(EventId = 1259, Level = LogLevel.Warning, Message = "Could not journal chunk {ChunkId} as done for {Output}; it may be delivered again after a restart")]
    public static partial void JournalFailed(ILogger logger, Exception exception, string output, long chunkId);

    [LoggerMessage(EventId = 1260, Level = LogLevel.Information, Message = "Shutting down: flushing in-flight chunks for up to {Grace}")]
    public static partial void Stopping(ILogger logger, TimeSpan grace);

    [LoggerMessage(EventId = 1261, Level = LogLevel.Warning, Message = "Grace period over: {OnDisk} chunk(s) left on disk for the next start, {Lost} in-memory chunk(s) ({Records} records) not delivered")]
    public static partial void GraceExpired(ILogger logger, int onDisk, int lost, long records);

    [LoggerMessage(EventId = 1262, Level = LogLevel.Information, Message = "Engine stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 1263, Level = LogLevel.Debug, Message = "No output matches tag {Tag}; {Events} events dropped")]
    public static partial void Unrouted(ILogger logger, string tag, int events);
}
