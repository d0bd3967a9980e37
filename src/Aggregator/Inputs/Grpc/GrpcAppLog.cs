using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>Log events of gRPC/OTLP app ingestion (ids 1800-1899).</summary>
internal static partial class GrpcAppLog
{
    [LoggerMessage(EventId = 1800, Level = LogLevel.Warning, Message = "input {Input}: OTLP export from {Peer} refused: {Reason}")]
    public static partial void OtlpExportRefused(ILogger logger, string input, string peer, string reason);

    [LoggerMessage(EventId = 1801, Level = LogLevel.Warning, Message = "input {Input}: call {Method} from {Peer} refused as unauthenticated: {Reason}")]
    public static partial void Unauthenticated(ILogger logger, string input, string method, string peer, string reason);

    [LoggerMessage(EventId = 1802, Level = LogLevel.Information, Message = "input {Input}: loaded {Count} bearer token(s) from {File}")]
    public static partial void TokensLoaded(ILogger logger, string input, int count, string file);

    [LoggerMessage(EventId = 1803, Level = LogLevel.Error, Message = "input {Input}: cannot read auth_token_file {File}; keeping the {Count} token(s) read before")]
    public static partial void TokensUnreadable(ILogger logger, Exception exception, string input, string file, int count);

    [LoggerMessage(EventId = 1804, Level = LogLevel.Information, Message = "{Plugin} input {Input} listening on {Listen}:{Port} ({Transport}{Auth})")]
    public static partial void Listening(ILogger logger, string plugin, string input, string listen, int port, string transport, string auth);
}
