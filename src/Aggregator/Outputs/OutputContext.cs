using Gateway.Engine.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Outputs;

/// <summary>What the host hands every output instance it creates.</summary>
public sealed class OutputContext
{
    /// <summary>Instance name used in logs and metrics, e.g. <c>file.0</c> (or the section's <c>Alias</c>).</summary>
    public required string InstanceName { get; init; }

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Where the stdout output writes; the process's standard output unless a test supplies a stream.</summary>
    public Stream? StandardOutput { get; init; }

    /// <summary>Relative <c>File</c>/<c>Path</c> values resolve against this, as Fluent Bit resolves them against its cwd.</summary>
    public string BaseDirectory { get; init; } = Environment.CurrentDirectory;

    /// <summary>The machine name, for outputs that report where they run.</summary>
    public string HostName { get; init; } = Environment.MachineName;

    /// <summary><c>[SERVICE] Flush</c> (default 1 s): how long an output that batches across chunks may hold records.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// True when the instance is built only to check its options (<c>--dry-run</c>) and disposed at once: outputs
    /// with background work or on-disk state (s3's store_dir) must start nothing.
    /// </summary>
    public bool ValidationOnly { get; init; }

    /// <summary><c>[SERVICE] json.escape_unicode</c> (Fluent Bit's default: on): non-ASCII as <c>\uXXXX</c> in JSON.</summary>
    public bool JsonEscapeUnicode { get; init; } = true;

    /// <summary><c>[SERVICE] json.convert_nan_to_null</c> (default: off).</summary>
    public bool JsonConvertNanToNull { get; init; }

    internal FluentJsonFlags JsonFlags =>
        (JsonEscapeUnicode ? FluentJsonFlags.None : FluentJsonFlags.RawUnicode) |
        (JsonConvertNanToNull ? FluentJsonFlags.NanAsNull : FluentJsonFlags.None);
}
