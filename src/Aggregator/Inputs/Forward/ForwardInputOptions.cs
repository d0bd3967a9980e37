using System.Globalization;
using System.Net;
using Gateway.Engine.Config;
using Gateway.Protos.Forward;

namespace Gateway.Aggregator.Inputs.Forward;

/// <summary>TLS settings of a forward input (<c>tls</c>, <c>tls.crt_file</c>, <c>tls.key_file</c>, ...).</summary>
public sealed record ForwardTlsOptions(string CertificateFile, string KeyFile, string? KeyPassword, bool VerifyClient, string? CaFile);

/// <summary>
/// Settings of one <c>[INPUT] Name forward</c> section, with Fluent Bit in_forward's keys and defaults:
/// <c>Listen</c> 0.0.0.0, <c>Port</c> 24224, <c>Unix_Path</c>, <c>Unix_Perm</c>, <c>Tag_Prefix</c>, <c>Tag</c>,
/// <c>Buffer_Chunk_Size</c> 1024000, <c>Buffer_Max_Size</c> 6144000, <c>Shared_Key</c>, <c>Empty_Shared_Key</c>,
/// <c>Self_Hostname</c> localhost, <c>Security.Users</c> (<c>user password</c> pairs), <c>tls</c>,
/// <c>tls.verify</c>, <c>tls.crt_file</c>, <c>tls.key_file</c>, <c>tls.key_passwd</c>, <c>tls.ca_file</c>;
/// plus this project's <c>Buffer_Max_Decompressed_Size</c> (default 64 MiB) capping what a compressed message may inflate to.
/// </summary>
public sealed record ForwardInputOptions
{
    public const int DefaultPort = 24224;
    public const long DefaultBufferChunkSize = 1_024_000;

    /// <summary>Instance name for metrics and logs (<c>Alias</c>, else <c>forward</c>).</summary>
    public string Name { get; init; } = "forward";

    public string Listen { get; init; } = "0.0.0.0";

    public int Port { get; init; } = DefaultPort;

    public string? UnixPath { get; init; }

    /// <summary>Permissions applied to the Unix socket file after it is created (octal in config, e.g. 0660).</summary>
    public UnixFileMode? UnixPermissions { get; init; }

    public string? TagPrefix { get; init; }

    /// <summary>When set, replaces the tag of every incoming message.</summary>
    public string? Tag { get; init; }

    /// <summary>Accepted for compatibility; Kestrel's pipes size their own receive segments.</summary>
    public long BufferChunkSize { get; init; } = DefaultBufferChunkSize;

    public long BufferMaxSize { get; init; } = ForwardDecoderLimits.DefaultMaxMessageBytes;

    public long MaxDecompressedSize { get; init; } = ForwardDecoderLimits.DefaultMaxDecompressedBytes;

    /// <summary>Shared key of the secure forward handshake; null = no handshake (unless Empty_Shared_Key).</summary>
    public string? SharedKey { get; init; }

    public string SelfHostname { get; init; } = "localhost";

    public IReadOnlyList<ForwardUser> Users { get; init; } = [];

    public ForwardTlsOptions? Tls { get; init; }

    /// <summary>The handshake runs when a shared key (possibly empty, via Empty_Shared_Key) is configured.</summary>
    public bool SecurityEnabled => SharedKey is not null;

    /// <summary>
    /// How long a peer has to complete the shared-key handshake (<c>net.io_timeout</c>, default 30 s): a peer that
    /// connects and never sends its PING would otherwise hold a connection slot forever.
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = DefaultHandshakeTimeout;

    public static readonly TimeSpan DefaultHandshakeTimeout = TimeSpan.FromSeconds(30);

    public ForwardDecoderLimits DecoderLimits => new() { MaxMessageBytes = BufferMaxSize, MaxDecompressedBytes = MaxDecompressedSize };

    /// <summary>
    /// Reads and validates a section; throws the engine's <see cref="ConfigException"/> naming file:line of the
    /// first bad value (<see cref="TryFromSection"/> reports all of them).
    /// </summary>
    /// <param name="section">The <c>[INPUT]</c> section.</param>
    /// <param name="defaultName">Instance name when the section has no <c>Alias</c>, e.g. <c>forward.0</c> as Fluent Bit numbers them.</param>
    public static ForwardInputOptions FromSection(ConfigSection section, string defaultName = "forward")
    {
        if (!TryFromSection(section, out var options, out var diagnostics, defaultName))
        {
            var first = diagnostics[0];
            var more = diagnostics.Count > 1 ? $" (and {diagnostics.Count - 1} more problem(s) in this section)" : string.Empty;
            throw new ConfigException(first.Location, first.Message + more);
        }

        return options!;
    }

    public static bool TryFromSection(ConfigSection section, out ForwardInputOptions? options, out IReadOnlyList<ConfigDiagnostic> diagnostics, string defaultName = "forward")
    {
        ArgumentNullException.ThrowIfNull(section);
        var errors = new List<ConfigDiagnostic>();
        var result = new ForwardInputOptions
        {
            Name = section.Get("Alias") is { Length: > 0 } alias ? alias : defaultName,
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

        if (section.Find("Unix_Path") is { Value.Length: > 0 } unixPath)
        {
            result = result with { UnixPath = unixPath.Value.Trim() };
        }

        if (section.Find("Unix_Perm") is { } perm)
        {
            try
            {
                var mode = Convert.ToInt32(perm.Value.Trim(), 8);
                if (mode is < 0 or > 0xfff)
                {
                    throw new FormatException();
                }

                result = result with { UnixPermissions = (UnixFileMode)mode };
            }
            catch (Exception ex) when (ex is FormatException or OverflowException or ArgumentException)
            {
                errors.Add(Error(perm, $"Unix_Perm: '{perm.Value}' is not an octal permission such as 0660"));
            }
        }

        if (section.Find("Tag_Prefix") is { Value.Length: > 0 } prefix)
        {
            result = result with { TagPrefix = prefix.Value };
        }

        if (section.Find("Tag") is { Value.Length: > 0 } tag)
        {
            result = result with { Tag = tag.Value };
        }

        if (ReadSize(section, "Buffer_Chunk_Size", errors) is { } chunkSize)
        {
            result = result with { BufferChunkSize = chunkSize };
        }

        if (ReadSize(section, "Buffer_Max_Size", errors) is { } maxSize)
        {
            result = result with { BufferMaxSize = maxSize };
        }

        if (ReadSize(section, "Buffer_Max_Decompressed_Size", errors) is { } maxDecompressed)
        {
            result = result with { MaxDecompressedSize = maxDecompressed };
        }

        if (result.BufferChunkSize > result.BufferMaxSize && section.Find("Buffer_Chunk_Size") is { } chunkEntry)
        {
            errors.Add(Error(chunkEntry, $"Buffer_Chunk_Size ({result.BufferChunkSize}) is larger than Buffer_Max_Size ({result.BufferMaxSize})"));
        }

        var handshakeTimeout = ConfigValues.GetDuration(section, "net.io_timeout", DefaultHandshakeTimeout, errors);
        result = result with { HandshakeTimeout = handshakeTimeout > TimeSpan.Zero ? handshakeTimeout : DefaultHandshakeTimeout };

        var emptySharedKey = ConfigValues.GetBool(section, "Empty_Shared_Key", false, errors);
        if (section.Find("Shared_Key") is { } sharedKey)
        {
            result = result with { SharedKey = sharedKey.Value };
        }
        else if (emptySharedKey)
        {
            result = result with { SharedKey = string.Empty };
        }

        if (section.Find("Self_Hostname") is { Value.Length: > 0 } selfHostname)
        {
            result = result with { SelfHostname = selfHostname.Value.Trim() };
        }

        var users = new List<ForwardUser>();
        foreach (var entry in section.FindAll("Security.Users"))
        {
            var parts = entry.Value.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || parts.Length % 2 != 0)
            {
                errors.Add(Error(entry, $"Security.Users: '{entry.Value}' is not 'username password' pairs"));
                continue;
            }

            for (var i = 0; i < parts.Length; i += 2)
            {
                users.Add(new ForwardUser(parts[i], parts[i + 1]));
            }
        }

        result = result with { Users = users };
        if (users.Count > 0 && result.SharedKey is null)
        {
            // Same rule as Fluent Bit: users only authenticate inside the shared-key handshake.
            errors.Add(Error(section.FindAll("Security.Users").First(), "Security.Users is set but neither Shared_Key nor Empty_Shared_Key"));
        }

        if (ConfigValues.GetBool(section, "tls", false, errors))
        {
            var crt = section.Find("tls.crt_file");
            var key = section.Find("tls.key_file");
            if (crt is null || key is null)
            {
                errors.Add(new ConfigDiagnostic(section.Find("tls")!.Location, DiagnosticSeverity.Error, "tls is on but tls.crt_file and tls.key_file are not both set"));
            }
            else
            {
                CheckFile(crt, errors);
                CheckFile(key, errors);
                var ca = section.Find("tls.ca_file");
                if (ca is not null)
                {
                    CheckFile(ca, errors);
                }

                result = result with
                {
                    Tls = new ForwardTlsOptions(crt.Value.Trim(), key.Value.Trim(), section.Get("tls.key_passwd"), ConfigValues.GetBool(section, "tls.verify", false, errors), ca?.Value.Trim()),
                };
            }
        }

        diagnostics = errors;
        options = errors.Count == 0 ? result : null;
        return errors.Count == 0;
    }

    /// <summary>A size key read with the engine's Fluent Bit units, limited to what one array can hold.</summary>
    private static long? ReadSize(ConfigSection section, string key, List<ConfigDiagnostic> errors)
    {
        if (section.Find(key) is not { } entry)
        {
            return null;
        }

        if (!ConfigValues.TryParseSize(entry, out var bytes, out var diagnostic))
        {
            errors.Add(diagnostic!);
            return null;
        }

        if (bytes is < 1 or >= int.MaxValue)
        {
            // Frames are held in contiguous arrays; 2 GB is the hard ceiling.
            errors.Add(Error(entry, $"{key}: '{entry.Value}' must be between 1 byte and 2G"));
            return null;
        }

        return bytes;
    }

    private static void CheckFile(ConfigEntry entry, List<ConfigDiagnostic> errors)
    {
        if (!File.Exists(entry.Value.Trim()))
        {
            errors.Add(Error(entry, $"{entry.Key}: '{entry.Value}' does not exist"));
        }
    }

    private static ConfigDiagnostic Error(ConfigEntry entry, string message) => new(entry.Location, DiagnosticSeverity.Error, message);
}
