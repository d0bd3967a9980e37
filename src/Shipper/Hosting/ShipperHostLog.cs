using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Hosting;

/// <summary>Shipper host messages; event ids 1450-1499 (the host's range, kept apart from the aggregator's).</summary>
internal static partial class ShipperHostLog
{
    [LoggerMessage(EventId = 1450, Level = LogLevel.Information, Message = "Gateway shipper {Version} starting with config {ConfigPath}")]
    public static partial void Starting(ILogger logger, string version, string configPath);

    [LoggerMessage(EventId = 1451, Level = LogLevel.Information, Message = "Sending to aggregator {Aggregator} (from --aggregator)")]
    public static partial void AggregatorOverride(ILogger logger, string aggregator);

    [LoggerMessage(EventId = 1452, Level = LogLevel.Information, Message = "Shutdown requested ({Signal}); stopping")]
    public static partial void ShuttingDown(ILogger logger, string signal);

    [LoggerMessage(EventId = 1453, Level = LogLevel.Information, Message = "Stopped")]
    public static partial void Stopped(ILogger logger);

    [LoggerMessage(EventId = 1454, Level = LogLevel.Warning, Message = "Config {Location}: {Message}")]
    public static partial void ConfigWarning(ILogger logger, string location, string message);

    [LoggerMessage(EventId = 1455, Level = LogLevel.Critical, Message = "The shipper failed and stops")]
    public static partial void Failed(ILogger logger, Exception exception);
}
