using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs.Kinesis;

/// <summary>Firehose / Kinesis Data Streams output messages; event ids 1750-1799.</summary>
internal static partial class KinesisLog
{
    [LoggerMessage(EventId = 1750, Level = LogLevel.Warning, Message = "[{Output}] {Operation} to '{Stream}' failed ({Error}); retry {Retry} of {MaxRetries} after backoff")]
    public static partial void TransientFailure(ILogger logger, string output, string operation, string stream, string error, int retry, int maxRetries);

    [LoggerMessage(EventId = 1751, Level = LogLevel.Warning, Message = "[{Output}] {Failed} of {Count} records to '{Stream}' were not accepted ({Error}); resending only those, retry {Retry} of {MaxRetries}")]
    public static partial void PartialFailure(ILogger logger, string output, int failed, int count, string stream, string error, int retry, int maxRetries);

    [LoggerMessage(EventId = 1752, Level = LogLevel.Warning, Message = "[{Output}] {Operation} to '{Stream}' still failing ({Error}); handing the chunk back to the engine, {Pending} records pending")]
    public static partial void GivingUp(ILogger logger, string output, string operation, string stream, string error, int pending);

    [LoggerMessage(EventId = 1753, Level = LogLevel.Error, Message = "[{Output}] AWS refused the credentials or permission for {Operation} on '{Stream}' ({Error}); check the IAM policy ({Permission}), role_arn/profile and the clock; the chunk stays buffered")]
    public static partial void AuthFailure(ILogger logger, string output, string operation, string stream, string error, string permission);

    [LoggerMessage(EventId = 1754, Level = LogLevel.Error, Message = "[{Output}] '{Stream}' does not exist in {Region} ({Error}); create it or fix the name; the chunk stays buffered")]
    public static partial void StreamMissing(ILogger logger, string output, string stream, string region, string error);

    [LoggerMessage(EventId = 1755, Level = LogLevel.Error, Message = "[{Output}] {Operation} refused a request of {Count} records to '{Stream}' ({Error}); resending the same bytes cannot succeed, the records are dropped and counted")]
    public static partial void RequestRefused(ILogger logger, string output, string operation, int count, string stream, string error);

    [LoggerMessage(EventId = 1756, Level = LogLevel.Warning, Message = "[{Output}] dropped {Count} records of chunk '{Tag}' larger than the {Limit}-byte record limit (largest {Largest} bytes)")]
    public static partial void RecordsTooLarge(ILogger logger, string output, int count, string tag, int limit, int largest);

    [LoggerMessage(EventId = 1757, Level = LogLevel.Warning, Message = "[{Output}] {Count} records of chunk '{Tag}' have no log_key '{LogKey}'; they are not sent")]
    public static partial void LogKeyMissing(ILogger logger, string output, int count, string tag, string logKey);

    [LoggerMessage(EventId = 1758, Level = LogLevel.Error, Message = "[{Output}] dropping malformed chunk with tag '{Tag}': {Reason}")]
    public static partial void MalformedChunk(ILogger logger, string output, string tag, string reason);

    [LoggerMessage(EventId = 1759, Level = LogLevel.Error, Message = "[{Output}] unexpected failure sending chunk '{Tag}'; it will be retried")]
    public static partial void UnexpectedFailure(ILogger logger, string output, string tag, Exception exception);

    [LoggerMessage(EventId = 1760, Level = LogLevel.Warning, Message = "{Location}: {Plugin}: '{Key}' is not an option of this output; ignored")]
    public static partial void IgnoredOption(ILogger logger, string location, string plugin, string key);
}
