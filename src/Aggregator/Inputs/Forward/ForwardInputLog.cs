using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Forward;

/// <summary>Forward input log lines (event ids 1100-1199); one warning per rejected connection, never per record.</summary>
internal static partial class ForwardInputLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Forward input {Input} listening on {Endpoint}")]
    public static partial void Listening(ILogger logger, string input, string endpoint);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Forward input {Input} closed connection from {Peer}: {Reason} ({Detail})")]
    public static partial void ConnectionRejected(ILogger logger, string input, string peer, string reason, string detail);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "Forward input {Input} accepted connection from {Peer}")]
    public static partial void ConnectionOpened(ILogger logger, string input, string peer);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Debug, Message = "Forward input {Input} connection from {Peer} ended")]
    public static partial void ConnectionEnded(ILogger logger, string input, string peer);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Error, Message = "Forward input {Input} could not store a chunk from {Peer}; closing the connection without ack so the sender retries")]
    public static partial void SinkFailed(ILogger logger, Exception exception, string input, string peer);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Debug, Message = "Forward input {Input} connection from {Peer} dropped by the peer")]
    public static partial void ConnectionDropped(ILogger logger, Exception exception, string input, string peer);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Warning, Message = "Forward input {Input} could not apply Unix_Perm to {Path}")]
    public static partial void UnixPermissionsFailed(ILogger logger, Exception exception, string input, string path);
}
