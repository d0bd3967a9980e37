using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Pipeline;

/// <summary>The shipper pipeline's messages, event ids 2100-2199.</summary>
internal static partial class ShipperLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Shipper on node {NodeName} runs: inputs {Inputs}; node filters {Filters}")]
    public static partial void Runs(ILogger logger, string nodeName, string inputs, string filters);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Left to the aggregator (not run on the node): {Sections}")]
    public static partial void LeftToAggregator(ILogger logger, string sections);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "Forwarding every record, tags unchanged, to {Endpoints} ({Source}) with acknowledgements")]
    public static partial void ForwardingTo(ILogger logger, string endpoints, string source);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Error, Message = "Config {Location}: {Message}")]
    public static partial void ConfigError(ILogger logger, string location, string message);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning, Message = "Config {Location}: {Message}")]
    public static partial void ConfigWarning(ILogger logger, string location, string message);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning, Message = "The aggregator did not take a chunk of {Tag} ({Records} records, attempt {Attempt}): {Reason}; sending it again in {Delay}")]
    public static partial void SendFailed(ILogger logger, string tag, int records, int attempt, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Warning, Message = "Filter {Filter} failed on a chunk tagged {Tag}; the chunk ships unfiltered")]
    public static partial void FilterFailed(ILogger logger, Exception exception, string filter, string tag);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Error, Message = "Input {Input} stopped with an error; the shipper stops")]
    public static partial void InputFailed(ILogger logger, Exception exception, string input);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Information, Message = "Serving /healthz and /metrics on http://{Endpoint}")]
    public static partial void HttpListening(ILogger logger, string endpoint);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Warning, Message = "HTTP request from {Remote} failed: {Reason}")]
    public static partial void HttpRequestFailed(ILogger logger, string remote, string reason);

    [LoggerMessage(EventId = 2110, Level = LogLevel.Warning, Message = "[OUTPUT] forward ({Location}) has Require_ack_response off; the shipper turns it on because offsets may only move once the aggregator has the data")]
    public static partial void AckForced(ILogger logger, string location);

    [LoggerMessage(EventId = 2111, Level = LogLevel.Information, Message = "Stopped: {Received} chunks received, {Acked} acknowledged ({Records} records), {Retries} resends; unacknowledged chunks are read again on the next start")]
    public static partial void Summary(ILogger logger, long received, long acked, long records, long retries);
}
