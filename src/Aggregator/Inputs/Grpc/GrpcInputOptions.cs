using System.Globalization;
using System.Net;
using Gateway.Aggregator.Inputs.Forward;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>Which gRPC service an input's endpoint serves.</summary>
internal enum GrpcInputProtocol
{
    /// <summary><c>[INPUT] Name gateway_grpc</c>: <c>gateway.v1.Ingest</c> (shipper chunks, app events).</summary>
    GatewayIngest,

    /// <summary><c>[INPUT] Name opentelemetry</c>: OTLP/gRPC <c>opentelemetry.proto.collector.logs.v1.LogsService</c>.</summary>
    OtlpLogs,
}

/// <summary>
/// Settings of one <c>[INPUT] Name gateway_grpc</c> or <c>[INPUT] Name opentelemetry</c> section. Each input is its
/// own HTTP/2 endpoint: <c>Listen</c> (default 0.0.0.0), <c>Port</c> (gateway_grpc 24225 next to forward's 24224;
/// opentelemetry 4317, the OTLP/gRPC port), <c>Tag_Prefix</c> (gateway_grpc), <c>Tag</c> (opentelemetry, default
/// <c>v1_logs</c> as Fluent Bit's in_opentelemetry names logs with tag_from_uri), <c>Buffer_Max_Size</c> (largest
/// request's events, default 16 MiB for gateway_grpc and 4 MiB for opentelemetry (Fluent Bit: 4M); bigger requests are
/// refused with ResourceExhausted), <c>auth_token_file</c> (bearer tokens, one per line, re-read when the file
/// changes) and <c>tls</c>, <c>tls.crt_file</c>, <c>tls.key_file</c>, <c>tls.key_passwd</c>, <c>tls.ca_file</c>,
/// <c>tls.verify</c> (client certificate required: mTLS).
/// </summary>
internal sealed record GrpcInputOptions
{
    public const string PluginName = "gateway_grpc";
    public const string OtlpPluginName = "opentelemetry";
    public const int DefaultPort = 24225;
    public const int DefaultOtlpPort = 4317;
    public const int DefaultMaxBatchBytes = 16 * 1024 * 1024;
    public const int DefaultOtlpMaxBatchBytes = 4 * 1024 * 1024;
    public const string DefaultOtlpTag = "v1_logs";

    public GrpcInputProtocol Protocol { get; init; } = GrpcInputProtocol.GatewayIngest;

    public string Name { get; init; } = PluginName;

    public string Listen { get; init; } = "0.0.0.0";

    public int Port { get; init; } = DefaultPort;

    public string? TagPrefix { get; init; }

    /// <summary>The tag of every record an OTLP input stores.</summary>
    public string Tag { get; init; } = DefaultOtlpTag;

    public int MaxBatchBytes { get; init; } = DefaultMaxBatchBytes;

    /// <summary>File of accepted bearer tokens; null = no token needed.</summary>
    public string? AuthTokenFile { get; init; }

    /// <summary>TLS (and with VerifyClient, mTLS) of the endpoint; null = h2c.</summary>
    public ForwardTlsOptions? Tls { get; init; }

    /// <summary>True when a call must prove who it is (a token, a client certificate or both).</summary>
    public bool RequiresAuthentication => AuthTokenFile is not null || Tls is { VerifyClient: true };

    public static bool IsGrpcInput(string pluginName) =>
        string.Equals(pluginName, PluginName, StringComparison.OrdinalIgnoreCase) ||
        string.Equals(pluginName, OtlpPluginName, StringComparison.OrdinalIgnoreCase);

    public static bool TryFromSection(ConfigSection section, out GrpcInputOptions? options, out IReadOnlyList<ConfigDiagnostic> diagnostics, string? defaultName = null)
    {
        ArgumentNullException.ThrowIfNull(section);
        var errors = new List<ConfigDiagnostic>();
        var otlp = string.Equals(section.PluginName?.Trim(), OtlpPluginName, StringComparison.OrdinalIgnoreCase);
        var pluginName = otlp ? OtlpPluginName : PluginName;
        var result = new GrpcInputOptions
        {
            Protocol = otlp ? GrpcInputProtocol.OtlpLogs : GrpcInputProtocol.GatewayIngest,
            Name = section.Get("Alias") is { Length: > 0 } alias ? alias : defaultName ?? pluginName,
            Port = otlp ? DefaultOtlpPort : DefaultPort,
            MaxBatchBytes = otlp ? DefaultOtlpMaxBatchBytes : DefaultMaxBatchBytes,
        };

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

        if (otlp && section.Find("Tag") is { } tag)
        {
            if (tag.Value.Trim().Length == 0)
            {
                errors.Add(Error(tag, "Tag: is empty; leave it out for the default 'v1_logs'"));
            }
            else
            {
                result = result with { Tag = tag.Value.Trim() };
            }
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

        if (section.Find("auth_token_file") is { } tokenFile)
        {
            if (CheckFile(tokenFile, errors))
            {
                result = result with { AuthTokenFile = tokenFile.Value.Trim() };
            }
        }

        if (ConfigValues.GetBool(section, "tls", false, errors))
        {
            var crt = section.Find("tls.crt_file");
            var key = section.Find("tls.key_file");
            if (crt is null || key is null)
            {
                errors.Add(Error(section.Find("tls")!, "tls is on but tls.crt_file and tls.key_file are not both set"));
            }
            else
            {
                var ca = section.Find("tls.ca_file");
                var filesExist = CheckFile(crt, errors) & CheckFile(key, errors) & (ca is null || CheckFile(ca, errors));
                if (filesExist)
                {
                    result = result with
                    {
                        Tls = new ForwardTlsOptions(crt.Value.Trim(), key.Value.Trim(), section.Get("tls.key_passwd"), ConfigValues.GetBool(section, "tls.verify", false, errors), ca?.Value.Trim()),
                    };
                }
            }
        }
        else if (section.Find("tls.verify") is { } verify && ConfigValues.ParseBool(verify.Value) == true)
        {
            // Without tls there is no handshake to ask for a client certificate: refusing beats silently open.
            errors.Add(Error(verify, "tls.verify is on but tls is off; client certificates need 'tls On' with tls.crt_file and tls.key_file"));
        }

        diagnostics = errors;
        options = errors.Count == 0 ? result : null;
        return errors.Count == 0;
    }

    private static bool CheckFile(ConfigEntry entry, List<ConfigDiagnostic> errors)
    {
        if (File.Exists(entry.Value.Trim()))
        {
            return true;
        }

        errors.Add(Error(entry, $"{entry.Key}: '{entry.Value}' does not exist"));
        return false;
    }

    private static ConfigDiagnostic Error(ConfigEntry entry, string message) => new(entry.Location, DiagnosticSeverity.Error, message);
}
