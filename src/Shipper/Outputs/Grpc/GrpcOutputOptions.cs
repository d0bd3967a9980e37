using System.Globalization;
using Gateway.Engine.Config;

namespace Gateway.Shipper.Outputs.Grpc;

/// <summary>
/// Settings of the shipper's <c>[OUTPUT] Name gateway_grpc</c>: <c>Host</c> (default 127.0.0.1), <c>Port</c>
/// (default 24225, the aggregator's gateway_grpc input). Connections are HTTP/2 cleartext (h2c).
/// </summary>
internal sealed record GrpcOutputOptions
{
    public const string PluginName = "gateway_grpc";
    public const int DefaultPort = 24225;

    public string Host { get; init; } = "127.0.0.1";

    public int Port { get; init; } = DefaultPort;

    /// <summary>Batches sent but not yet acknowledged on the stream; more senders wait.</summary>
    public int MaxInFlightBatches { get; init; } = 8;

    /// <summary>How long an unacknowledged batch may wait before the stream is considered broken.</summary>
    public TimeSpan AckTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public Uri Address => new($"http://{(Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]" : Host)}:{Port.ToString(CultureInfo.InvariantCulture)}");

    public static GrpcOutputOptions? FromSection(ConfigSection section, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var result = new GrpcOutputOptions();
        var ok = true;
        if (section.Find("Host") is { Value.Length: > 0 } host)
        {
            result = result with { Host = host.Value.Trim() };
        }

        if (section.Find("Port") is { } port)
        {
            if (int.TryParse(port.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p is > 0 and <= 65535)
            {
                result = result with { Port = p };
            }
            else
            {
                diagnostics.Add(new ConfigDiagnostic(port.Location, DiagnosticSeverity.Error, $"gateway_grpc: Port '{port.Value}' is not a TCP port number (1-65535)"));
                ok = false;
            }
        }

        return ok ? result : null;
    }
}
