using Microsoft.Extensions.Logging;

namespace Gateway.Engine.Hosting;

/// <summary>Fluent Bit's <c>[SERVICE] Log_Level</c> names mapped to Microsoft.Extensions.Logging levels.</summary>
public static class FluentBitLogLevel
{
    public const string Expected = "off, error, warn, info, debug, trace";

    public static bool TryParse(string text, out LogLevel level)
    {
        ArgumentNullException.ThrowIfNull(text);
        switch (text.Trim().ToUpperInvariant())
        {
            case "OFF":
                level = LogLevel.None;
                return true;
            case "ERROR":
                level = LogLevel.Error;
                return true;
            case "WARN":
            case "WARNING":
                level = LogLevel.Warning;
                return true;
            case "INFO":
                level = LogLevel.Information;
                return true;
            case "DEBUG":
                level = LogLevel.Debug;
                return true;
            case "TRACE":
                level = LogLevel.Trace;
                return true;
            default:
                level = LogLevel.Information;
                return false;
        }
    }
}
