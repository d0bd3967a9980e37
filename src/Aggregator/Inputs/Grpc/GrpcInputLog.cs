using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>Log events of the gateway_grpc input (ids 1180-1189, inside the input range).</summary>
internal static partial class GrpcInputLog
{
    // 1180 was "listening"; GrpcAppLog.Listening (1804) replaced it when TLS and the opentelemetry input came.

    [LoggerMessage(EventId = 1181, Level = LogLevel.Warning, Message = "gateway_grpc input {Input}: batch {BatchId} from node '{Node}' refused: {Reason}")]
    public static partial void BatchRefused(ILogger logger, string input, string batchId, string node, string reason);

    [LoggerMessage(EventId = 1182, Level = LogLevel.Debug, Message = "gateway_grpc input {Input}: stream from {Peer} ended after {Batches} batch(es)")]
    public static partial void StreamEnded(ILogger logger, string input, string peer, long batches);
}
