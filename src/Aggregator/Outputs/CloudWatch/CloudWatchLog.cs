using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>CloudWatch Logs output messages; event ids 1600-1699.</summary>
internal static partial class CloudWatchLog
{
    [LoggerMessage(EventId = 1600, Level = LogLevel.Information, Message = "[{Output}] created log group '{Group}'")]
    public static partial void GroupCreated(ILogger logger, string output, string group);

    [LoggerMessage(EventId = 1601, Level = LogLevel.Debug, Message = "[{Output}] created log stream '{Group}/{Stream}'")]
    public static partial void StreamCreated(ILogger logger, string output, string group, string stream);

    [LoggerMessage(EventId = 1602, Level = LogLevel.Warning, Message = "[{Output}] {Operation} on '{Group}/{Stream}' failed ({Error}); retry {Retry} of {MaxRetries} after backoff")]
    public static partial void TransientFailure(ILogger logger, string output, string operation, string group, string stream, string error, int retry, int maxRetries);

    [LoggerMessage(EventId = 1603, Level = LogLevel.Warning, Message = "[{Output}] {Operation} on '{Group}/{Stream}' still failing ({Error}); handing the chunk back to the engine for a later retry")]
    public static partial void GivingUp(ILogger logger, string output, string operation, string group, string stream, string error);

    [LoggerMessage(EventId = 1604, Level = LogLevel.Error, Message = "[{Output}] AWS refused the credentials or permission for {Operation} on '{Group}' ({Error}); check the IAM policy (logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents), role_arn/profile and the clock; the chunk stays buffered")]
    public static partial void AuthFailure(ILogger logger, string output, string operation, string group, string error);

    [LoggerMessage(EventId = 1605, Level = LogLevel.Warning, Message = "[{Output}] CloudWatch rejected {Rejected} of {Count} events for '{Group}/{Stream}' (too old, too new or expired: {Info})")]
    public static partial void EventsRejected(ILogger logger, string output, int rejected, int count, string group, string stream, string info);

    [LoggerMessage(EventId = 1606, Level = LogLevel.Error, Message = "[{Output}] CloudWatch refused a batch of {Count} events for '{Group}/{Stream}' ({Error}); the events are counted as rejected and not retried")]
    public static partial void BatchRefused(ILogger logger, string output, int count, string group, string stream, string error);

    [LoggerMessage(EventId = 1607, Level = LogLevel.Error, Message = "[{Output}] log group '{Group}' does not exist and auto_create_group is off; create it or set auto_create_group on")]
    public static partial void GroupMissing(ILogger logger, string output, string group);

    [LoggerMessage(EventId = 1608, Level = LogLevel.Warning, Message = "[{Output}] the {What} template '{Template}' rendered nothing for a record with tag '{Tag}'; using '{Fallback}'")]
    public static partial void TemplateFallback(ILogger logger, string output, string what, string template, string tag, string fallback);

    [LoggerMessage(EventId = 1609, Level = LogLevel.Warning, Message = "[{Output}] an event of {Size} bytes exceeds CloudWatch's event limit; truncated to {Limit} bytes")]
    public static partial void EventTruncated(ILogger logger, string output, int size, int limit);

    [LoggerMessage(EventId = 1610, Level = LogLevel.Warning, Message = "[{Output}] record with tag '{Tag}' has no usable '{LogKey}' (missing or empty); event skipped")]
    public static partial void LogKeyMissing(ILogger logger, string output, string tag, string logKey);

    [LoggerMessage(EventId = 1611, Level = LogLevel.Error, Message = "[{Output}] dropping malformed chunk with tag '{Tag}': {Reason}")]
    public static partial void MalformedChunk(ILogger logger, string output, string tag, string reason);

    [LoggerMessage(EventId = 1612, Level = LogLevel.Warning, Message = "{Location}: {Plugin}: option '{Key}' is not used by this output and is ignored")]
    public static partial void IgnoredOption(ILogger logger, string location, string plugin, string key);

    [LoggerMessage(EventId = 1613, Level = LogLevel.Information, Message = "[{Output}] log stream '{Group}/{Stream}' disappeared (ResourceNotFoundException); recreating it")]
    public static partial void StreamRecreating(ILogger logger, string output, string group, string stream);

    [LoggerMessage(EventId = 1616, Level = LogLevel.Error, Message = "[{Output}] unexpected failure sending a request to '{Destination}'; its chunks will be retried")]
    public static partial void RequestFailed(ILogger logger, string output, string destination, Exception exception);

    [LoggerMessage(EventId = 1614, Level = LogLevel.Warning, Message = "[{Output}] could not set retention of '{Group}' to {Days} days: {Error}")]
    public static partial void RetentionFailed(ILogger logger, string output, string group, int days, string error);

    [LoggerMessage(EventId = 1640, Level = LogLevel.Warning, Message = "[{Output}] a record tagged '{Tag}' holds NaN or Infinity, which the cloudwatch Go plugin's JSON encoder refuses; the record is skipped, as that plugin skips it")]
    public static partial void NotGoJson(ILogger logger, string output, string tag);
}
