using System.Globalization;
using System.Net;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>
/// Settings of one <c>[INPUT] Name gateway_grpc</c> section: <c>Listen</c> (default 0.0.0.0), <c>Port</c>
/// (default 24225, next to forward's 24224), <c>Tag_Prefix</c> and <c>Buffer_Max_Size</c> (largest batch's events,
/// default 16 MiB; bigger batches are refused with ResourceExhausted).
/// </summary>
internal sealed record GrpcInputOptions
{
    public const string PluginName = "gateway_grpc";
    public const int DefaultPort = 24225;
    public const int DefaultMaxBatchBytes = 16 * 1024 * 1024;

    public string Name { get; init; } = PluginName;

    public string Listen { get; init; } = "0.0.0.0";

    public int Port { get; init; } = DefaultPort;

    public string? TagPrefix { get; init; }

    public int MaxBatchBytes { get; init; } = DefaultMaxBatchBytes;

    public static bool TryFromSection(ConfigSection section, out GrpcInputOptions? options, out IReadOnlyList<ConfigDiagnostic> diagnostics, string defaultName = PluginName)
    {
        ArgumentNullException.ThrowIfNull(section);
        var errors = new List<ConfigDiagnostic>();
        var result = new GrpcInputOptions { Name = section.Get("Alias") is { Length: > 0 } alias ? alias : defaultName };

        if (section.Find("Listen") is { } listen)
        {
            var value = listen.Value.Trim();
            if (!string.Equals(value, "localhost", StringComparison.OrdinalIgnoreCase) && !IPAddress.TryParse(value, out _))
            {
                errors.Add(Error(listen, $"Listen: '{listen.Value}' is not an IP address or 'localhost'"));
            }

            result = result with { Listen = value };
        }

        if (section.Find("Port") is { } port)
        {
            if (int.TryParse(port.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var p) && p <= 65535)
            {
                result = result with { Port = p };
            }
            else
            {
                errors.Add(Error(port, $"Port: '{port.Value}' is not a TCP port number (0-65535)"));
            }
        }

        if (section.Find("Tag_Prefix") is { Value.Length: > 0 } prefix)
        {
            result = result with { TagPrefix = prefix.Value };
        }

        if (section.Find("Buffer_Max_Size") is { } maxSize)
        {
            if (!ConfigValues.TryParseSize(maxSize, out var bytes, out var diagnostic))
            {
                errors.Add(diagnostic!);
            }
            else if (bytes is < 1 or > int.MaxValue - (1024 * 1024))
            {
                // One batch is one protobuf message held in one array.
                errors.Add(Error(maxSize, $"Buffer_Max_Size: '{maxSize.Value}' must be between 1 byte and 2G"));
            }
            else
            {
                result = result with { MaxBatchBytes = (int)bytes };
            }
        }

        diagnostics = errors;
        options = errors.Count == 0 ? result : null;
        return errors.Count == 0;
    }

    private static ConfigDiagnostic Error(ConfigEntry entry, string message) => new(entry.Location, DiagnosticSeverity.Error, message);
}
