using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Outputs.Grpc;

/// <summary>Log events of the shipper's gRPC output (ids 2600-2609).</summary>
internal static partial class GrpcOutputLog
{
    [LoggerMessage(EventId = 2600, Level = LogLevel.Information, Message = "gateway_grpc: stream to {Address} opened")]
    public static partial void StreamOpened(ILogger logger, string address);

    [LoggerMessage(EventId = 2601, Level = LogLevel.Warning, Message = "gateway_grpc: stream to {Address} broke ({Reason}); {Pending} unacknowledged batch(es) will be sent again")]
    public static partial void StreamBroken(ILogger logger, string address, string reason, int pending);
}
