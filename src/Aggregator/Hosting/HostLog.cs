using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Hosting;

/// <summary>Host log messages; event ids 1400-1499.</summary>
internal static partial class HostLog
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "Gateway aggregator {Version} starting with config {ConfigPath}")]
    public static partial void Starting(ILogger logger, string version, string configPath);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information, Message = "HTTP server (health, readiness, metrics) listening on {Address}:{Port}")]
    public static partial void HttpServerListening(ILogger logger, string address, int port);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Information, Message = "Ready: pipeline started and storage replayed")]
    public static partial void Ready(ILogger logger);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Information, Message = "Shutdown requested; draining for up to {GraceSeconds} s")]
    public static partial void ShuttingDown(ILogger logger, double graceSeconds);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Information, Message = "Exporting metrics over OTLP to {Endpoint}")]
    public static partial void OtlpExportEnabled(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 1407, Level = LogLevel.Warning, Message = "Config {Location}: {Message}")]
    public static partial void ConfigWarning(ILogger logger, string location, string message);

    [LoggerMessage(EventId = 1408, Level = LogLevel.Critical, Message = "The aggregator failed and stops")]
    public static partial void Failed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1409, Level = LogLevel.Warning, Message = "No HTTP server and no forward input configured: nothing listens; set HTTP_Server On in [SERVICE] to get health and metrics")]
    public static partial void NothingListens(ILogger logger);

    [LoggerMessage(EventId = 1410, Level = LogLevel.Information, Message = "{Location}: [{Kind}] {Plugin} runs in the shipper; the aggregator receives its records over forward")]
    public static partial void LeftToShipper(ILogger logger, string location, string kind, string plugin);
}
