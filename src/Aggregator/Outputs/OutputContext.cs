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

    /// <summary>The machine name, default for forward's <c>Self_Hostname</c>.</summary>
    public string HostName { get; init; } = Environment.MachineName;
}
