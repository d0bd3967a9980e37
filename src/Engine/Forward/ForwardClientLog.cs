using Microsoft.Extensions.Logging;

namespace Gateway.Engine.Forward;

/// <summary>Forward client log messages; event ids 1340-1369 (outputs range).</summary>
internal static partial class ForwardClientLog
{
    [LoggerMessage(EventId = 1340, Level = LogLevel.Information, Message = "forward client connected to {Endpoint}")]
    public static partial void Connected(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 1341, Level = LogLevel.Warning, Message = "forward client cannot connect to {Endpoint}: {Reason}")]
    public static partial void ConnectFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 1342, Level = LogLevel.Warning, Message = "forward connection to {Endpoint} lost with {Pending} unacknowledged chunks: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, string endpoint, int pending, string reason);

    [LoggerMessage(EventId = 1343, Level = LogLevel.Information, Message = "resent {Count} unacknowledged chunks to {Endpoint}")]
    public static partial void Resent(ILogger logger, int count, string endpoint);

    [LoggerMessage(EventId = 1344, Level = LogLevel.Warning, Message = "no ack for chunk {ChunkId} within {Timeout}; giving it back for retry")]
    public static partial void AckTimeout(ILogger logger, string chunkId, TimeSpan timeout);

    [LoggerMessage(EventId = 1345, Level = LogLevel.Debug, Message = "ack for unknown chunk {ChunkId} ignored (late or duplicate)")]
    public static partial void UnknownAck(ILogger logger, string chunkId);

    [LoggerMessage(EventId = 1346, Level = LogLevel.Warning, Message = "forward server {Endpoint} sent a message that is not an ack: {Reason}")]
    public static partial void BadServerMessage(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 1347, Level = LogLevel.Error, Message = "secure forward handshake with {Endpoint} failed: {Reason}")]
    public static partial void HandshakeFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 1348, Level = LogLevel.Debug, Message = "waiting {Delay} before reconnecting")]
    public static partial void Backoff(ILogger logger, TimeSpan delay);
}
