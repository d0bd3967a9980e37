using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs;

/// <summary>Output log messages; event ids 1300-1339 (the forward client uses 1340-1399).</summary>
internal static partial class OutputLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Error, Message = "[{Output}] cannot open '{File}': {Reason}")]
    public static partial void FileOpenFailed(ILogger logger, string output, string file, string reason);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Warning, Message = "[{Output}] write to '{File}' failed, will retry: {Reason}")]
    public static partial void FileWriteFailed(ILogger logger, string output, string file, string reason);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Error, Message = "[{Output}] dropping malformed chunk with tag '{Tag}': {Reason}")]
    public static partial void MalformedChunk(ILogger logger, string output, string tag, string reason);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Warning, Message = "{Location}: '{Key}' value '{Value}' is not tab, space or comma; using the default as Fluent Bit does")]
    public static partial void UnknownDelimiter(ILogger logger, string location, string key, string value);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "[{Output}] writing to stdout failed, will retry: {Reason}")]
    public static partial void StdoutWriteFailed(ILogger logger, string output, string reason);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "[{Output}] rolled '{File}' back to {Length} bytes after a failed write")]
    public static partial void FileRolledBack(ILogger logger, string output, string file, long length);

    [LoggerMessage(EventId = 1310, Level = LogLevel.Warning, Message = "[{Output}] forward to {Endpoint} failed, will retry: {Reason}")]
    public static partial void ForwardFailed(ILogger logger, string output, string endpoint, string reason);
}
