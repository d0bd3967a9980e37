using System.Globalization;
using System.Net;
using Gateway.Engine.Config;
using Gateway.Engine.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Hosting;

/// <summary>
/// The <c>[SERVICE]</c> keys the host itself uses: console log level, the HTTP server for health/readiness/metrics,
/// and the shutdown grace period. Defaults are Fluent Bit's (HTTP server off, 0.0.0.0:2020, Grace 5 s, info).
/// </summary>
internal sealed class ServiceSettings
{
    public const int DefaultHttpPort = 2020;

    public LogLevel LogLevel { get; init; } = LogLevel.Information;

    public bool HttpServer { get; init; }

    public IPAddress HttpListen { get; init; } = IPAddress.Any;

    public int HttpPort { get; init; } = DefaultHttpPort;

    /// <summary>How long shutdown waits for in-flight flushes, as Fluent Bit's <c>Grace</c>.</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>Flush</c>: how long an output batching across chunks (CloudWatch Logs) may hold records.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Reads every <c>[SERVICE]</c> section (later keys win, as Fluent Bit merges them). Bad values become
    /// file:line errors in <paramref name="diagnostics"/> and the default is kept, so one run reports them all.
    /// </summary>
    public static ServiceSettings FromConfig(ConfigDocument config, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(diagnostics);

        var logLevel = LogLevel.Information;
        var httpServer = false;
        var httpListen = IPAddress.Any;
        var httpPort = DefaultHttpPort;
        var grace = TimeSpan.FromSeconds(5);
        var flush = TimeSpan.FromSeconds(1);

        foreach (var section in config.OfKind(SectionKind.Service))
        {
            foreach (var entry in section.Entries)
            {
                switch (entry.Key.ToUpperInvariant())
                {
                    case "LOG_LEVEL":
                        if (FluentBitLogLevel.TryParse(entry.Value, out var level))
                        {
                            logLevel = level;
                        }
                        else
                        {
                            Error(diagnostics, entry, $"is not one of {FluentBitLogLevel.Expected}");
                        }

                        break;
                    case "HTTP_SERVER":
                        if (TryParseBool(entry.Value, out var on))
                        {
                            httpServer = on;
                        }
                        else
                        {
                            Error(diagnostics, entry, "is not on/off");
                        }

                        break;
                    case "HTTP_LISTEN":
                        if (TryParseListenAddress(entry.Value, out var address))
                        {
                            httpListen = address;
                        }
                        else
                        {
                            Error(diagnostics, entry, "is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)");
                        }

                        break;
                    case "HTTP_PORT":
                        // 0 asks the OS for a free port (used by tests); Fluent Bit would refuse it.
                        if (int.TryParse(entry.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port <= 65535)
                        {
                            httpPort = port;
                        }
                        else
                        {
                            Error(diagnostics, entry, "is not a port number (0-65535)");
                        }

                        break;
                    case "GRACE":
                        if (int.TryParse(entry.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds <= 3600)
                        {
                            grace = TimeSpan.FromSeconds(seconds);
                        }
                        else
                        {
                            Error(diagnostics, entry, "is not a number of seconds (0-3600)");
                        }

                        break;
                    case "FLUSH":
                        // Fluent Bit reads Flush as a double (e.g. 0.5); it bounds how long batching outputs hold records.
                        if (double.TryParse(entry.Value.Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var flushSeconds)
                            && flushSeconds > 0 && flushSeconds <= 3600)
                        {
                            flush = TimeSpan.FromSeconds(flushSeconds);
                        }
                        else
                        {
                            Error(diagnostics, entry, "is not a number of seconds (above 0, at most 3600)");
                        }

                        break;
                }
            }
        }

        return new ServiceSettings
        {
            LogLevel = logLevel,
            HttpServer = httpServer,
            HttpListen = httpListen,
            HttpPort = httpPort,
            Grace = grace,
            FlushInterval = flush,
        };
    }

    private static bool TryParseBool(string text, out bool value)
    {
        switch (text.Trim().ToUpperInvariant())
        {
            case "ON":
            case "TRUE":
            case "YES":
            case "1":
                value = true;
                return true;
            case "OFF":
            case "FALSE":
            case "NO":
            case "0":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    private static bool TryParseListenAddress(string text, out IPAddress address)
    {
        var trimmed = text.Trim();
        if (trimmed.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            address = IPAddress.Loopback;
            return true;
        }

        return IPAddress.TryParse(trimmed, out address!);
    }

    private static void Error(ICollection<ConfigDiagnostic> diagnostics, ConfigEntry entry, string what)
    {
        // The config validator checks some of these keys too; one complaint per line is enough.
        foreach (var existing in diagnostics)
        {
            if (existing.Location == entry.Location && existing.Severity == DiagnosticSeverity.Error)
            {
                return;
            }
        }

        diagnostics.Add(new ConfigDiagnostic(entry.Location, DiagnosticSeverity.Error, $"[SERVICE] {entry.Key} '{entry.Value}' {what}"));
    }
}
