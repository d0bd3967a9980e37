using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Buffer;

/// <summary>Buffer log messages, event ids 1200-1229.</summary>
internal static partial class BufferLog
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "Buffer storage at {Path} (sync {Sync}, checksum {Checksum}); {Segments} segment(s) found")]
    public static partial void StorageOpened(ILogger logger, string path, StorageSync sync, bool checksum, int segments);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "Segment {Segment}: {Reason} at offset {Offset}; truncated {Bytes} byte(s) (a torn write from a crash, or corruption)")]
    public static partial void SegmentTruncated(ILogger logger, string segment, string reason, long offset, long bytes);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "Journal {Journal}: bad entry at offset {Offset}; truncated {Bytes} byte(s); affected chunks will be delivered again")]
    public static partial void JournalTruncated(ILogger logger, string journal, long offset, long bytes);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Error, Message = "Writing {Chunks} chunk(s) to segment {Segment} failed; the appends are refused (not acknowledged)")]
    public static partial void WriteFailed(ILogger logger, Exception exception, int chunks, string segment);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Debug, Message = "Segment {Segment} fully delivered; deleted")]
    public static partial void SegmentDeleted(ILogger logger, string segment);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Warning, Message = "Could not delete delivered segment {Segment}")]
    public static partial void SegmentDeleteFailed(ILogger logger, Exception exception, string segment);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Information, Message = "Replay found {Chunks} chunk(s) in {Segments} segment(s); {Pending} chunk/output pair(s) still to deliver")]
    public static partial void ReplayScanned(ILogger logger, int chunks, int segments, int pending);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Error, Message = "Segment {Segment}: chunk at offset {Offset} ({Bytes} bytes) fails its checksum; skipped, the chunks after it are kept")]
    public static partial void CorruptFrameSkipped(ILogger logger, string segment, long offset, long bytes);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Error, Message = "Segment {Segment} could not be read for replay; it is left in place untouched")]
    public static partial void SegmentUnreadable(ILogger logger, Exception exception, string segment);
}
