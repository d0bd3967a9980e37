using Gateway.Engine.Config;
using Gateway.Protos.Forward;

namespace Gateway.Engine.Forward;

/// <summary>
/// The options of an <c>[OUTPUT] Name forward</c> section, read once for both programs that forward: the
/// aggregator's forward output (relay to another tier) and the shipper (node → aggregator, classic two-tier).
/// Every problem is a <see cref="ConfigException"/> naming the key, the value and its file:line.
/// </summary>
public sealed class ForwardOutputSettings
{
    /// <summary>The section keys the forward output understands (besides the engine's Match, Retry_Limit, ...).</summary>
    public static IReadOnlyList<string> Keys { get; } =
    [
        "host", "port", "require_ack_response", "send_options", "compress", "tag", "shared_key", "empty_shared_key",
        "self_hostname", "username", "password", "retain_metadata_in_forward_mode", "time_as_integer",
        "ack_response_timeout", "tls", "tls.verify", "tls.ca_file", "tls.vhost", "fluentd_compat",
        "upstream", "unix_path", "add_option",
    ];

    // Fluent Bit options we know but do not implement yet: refusing them beats silently ignoring them.
    private static readonly string[] UnsupportedKeys = ["unix_path", "add_option"];

    public required ForwardClientOptions Client { get; init; }

    /// <summary><c>Tag</c>: replaces every chunk's tag when set.</summary>
    public string? TagOverride { get; init; }

    public bool RetainMetadata { get; init; }

    public bool TimeAsInteger { get; init; }

    /// <summary>Reads the section; relative <c>tls.ca_file</c> and <c>Upstream</c> paths resolve against <paramref name="baseDirectory"/>.</summary>
    public static ForwardOutputSettings FromSection(ConfigSection section, string instanceName, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(section);
        foreach (var key in UnsupportedKeys)
        {
            if (section.Find(key) is { } unsupported)
            {
                throw new ConfigException(unsupported.Location, $"forward: '{unsupported.Key}' is not supported by Gateway yet");
            }
        }

        // Logs already go out in the Fluentd-compatible [time, record] layout, so Fluentd_Compat changes nothing.
        ConfigValues.Bool(section.Find("fluentd_compat"), false);
        var host = (section.Get("host") ?? "127.0.0.1").Trim();
        var port = (int)ConfigValues.Integer(section.Find("port"), 24224, 1, 65535);
        var compress = false;
        if (section.Find("compress") is { } compressEntry)
        {
            compress = compressEntry.Value.Trim().ToLowerInvariant() switch
            {
                "gzip" => true,
                "" or "none" or "off" or "false" => false,
                _ => throw Invalid(compressEntry, "only 'gzip' is supported"),
            };
        }

        var sharedKey = section.Get("shared_key");
        if (sharedKey is null && ConfigValues.Bool(section.Find("empty_shared_key"), false))
        {
            sharedKey = string.Empty;
        }

        var username = section.Get("username");
        var password = section.Get("password");
        if ((username is null) != (password is null))
        {
            var entry = section.Find("username") ?? section.Find("password")!;
            throw new ConfigException(entry.Location, "forward: 'Username' and 'Password' must be set together");
        }

        if (username is not null && sharedKey is null)
        {
            throw new ConfigException(section.Find("username")!.Location, "forward: 'Username'/'Password' need 'Shared_Key' (secure forward)");
        }

        var caFile = section.Get("tls.ca_file");
        if (caFile is not null)
        {
            caFile = Path.GetFullPath(caFile.Trim(), baseDirectory);
            if (!File.Exists(caFile))
            {
                throw new ConfigException(section.Find("tls.ca_file")!.Location, $"forward: tls.ca_file '{caFile}' does not exist");
            }
        }

        // Send_options is accepted for compatibility; the options map (size, chunk, compressed) is always sent.
        ConfigValues.Bool(section.Find("send_options"), false);
        // Upstream (Fluent Bit): the nodes of an upstream file instead of Host/Port, balanced round-robin as
        // Fluent Bit does.
        IReadOnlyList<ForwardEndpoint> endpoints = [new ForwardEndpoint(host, port)];
        var balance = ForwardBalance.Failover;
        if (section.Find("upstream") is { } upstreamEntry)
        {
            if (section.Find("host") is { } hostEntry)
            {
                throw new ConfigException(hostEntry.Location, "forward: set either 'Host'/'Port' or 'Upstream', not both");
            }

            endpoints = ForwardUpstreamFile.Load(upstreamEntry.Value, baseDirectory, upstreamEntry.Location);
            balance = ForwardBalance.RoundRobin;
        }

        var tag = section.Get("tag");
        return new ForwardOutputSettings
        {
            Client = new ForwardClientOptions
            {
                Endpoints = endpoints,
                Balance = balance,
                Name = instanceName,
                RequireAck = ConfigValues.Bool(section.Find("require_ack_response"), false),
                Compression = compress ? ForwardCompression.Gzip : ForwardCompression.None,
                AckTimeout = Duration(section, "ack_response_timeout", TimeSpan.FromSeconds(30)),
                ConnectTimeout = Duration(section, "net.connect_timeout", TimeSpan.FromSeconds(10)),
                Tls = ConfigValues.Bool(section.Find("tls"), false),
                TlsVerify = ConfigValues.Bool(section.Find("tls.verify"), true),
                TlsCaFile = caFile,
                TlsServerName = section.Get("tls.vhost"),
                SharedKey = sharedKey,
                SelfHostname = section.Get("self_hostname") ?? "localhost",
                Username = username,
                Password = password,
            },
            TagOverride = string.IsNullOrWhiteSpace(tag) ? null : tag.Trim(),
            RetainMetadata = ConfigValues.Bool(section.Find("retain_metadata_in_forward_mode"), false),
            TimeAsInteger = ConfigValues.Bool(section.Find("time_as_integer"), false),
        };
    }

    /// <summary>A positive duration as Fluent Bit's time options: seconds, or with an s/m/h/d suffix.</summary>
    private static TimeSpan Duration(ConfigSection section, string key, TimeSpan fallback)
    {
        var entry = section.Find(key);
        if (entry is null)
        {
            return fallback;
        }

        var duration = ConfigValues.ParseDuration(entry.Value);
        return duration is { } value && value > TimeSpan.Zero
            ? value
            : throw Invalid(entry, "expected a positive duration such as 30, 30s, 5m or 1h");
    }

    private static ConfigException Invalid(ConfigEntry entry, string expectation) =>
        new(entry.Location, $"invalid value '{entry.Value}' for '{entry.Key}': {expectation}");
}
