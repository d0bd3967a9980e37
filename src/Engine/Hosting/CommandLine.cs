using System.Globalization;
using System.Text;

namespace Gateway.Engine.Hosting;

/// <summary>Which program is parsing: the shipper accepts <c>--aggregator</c>, the aggregator does not.</summary>
public enum GatewayProgram
{
    Aggregator,
    Shipper,
}

/// <summary>What the program was asked to do.</summary>
public enum CommandLineMode
{
    /// <summary>Load the config and run until SIGTERM.</summary>
    Run,

    /// <summary>Load and validate the config, print diagnostics, exit.</summary>
    DryRun,

    Help,

    Version,
}

/// <summary>A <c>host:port</c> pair as given to <c>--aggregator</c>; IPv6 hosts are written <c>[::1]:24224</c>.</summary>
public readonly record struct HostPort(string Host, int Port)
{
    public static bool TryParse(string text, out HostPort value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string host;
        string portText;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                return false;
            }

            host = text[1..close];
            portText = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            // A second colon without brackets is an unbracketed IPv6 address: ambiguous, so refuse it.
            if (colon <= 0 || text.IndexOf(':', StringComparison.Ordinal) != colon)
            {
                return false;
            }

            host = text[..colon];
            portText = text[(colon + 1)..];
        }

        if (host.Length == 0
            || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            return false;
        }

        value = new HostPort(host, port);
        return true;
    }

    public override string ToString() =>
        Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>The parsed command line of either program.</summary>
public sealed class CommandLineOptions
{
    public CommandLineOptions(CommandLineMode mode, string? configPath, bool quiet, HostPort? aggregator)
        : this(mode, configPath, quiet, aggregator is { } one ? [one] : [])
    {
    }

    public CommandLineOptions(CommandLineMode mode, string? configPath, bool quiet, IReadOnlyList<HostPort> aggregators)
    {
        ArgumentNullException.ThrowIfNull(aggregators);
        Mode = mode;
        ConfigPath = configPath;
        Quiet = quiet;
        Aggregators = aggregators;
        Aggregator = aggregators.Count > 0 ? aggregators[0] : null;
    }

    public CommandLineMode Mode { get; }

    /// <summary>The <c>-c</c> file; never null when <see cref="Mode"/> is Run or DryRun.</summary>
    public string? ConfigPath { get; }

    /// <summary><c>-q</c>: no banner, only warnings and errors on the console.</summary>
    public bool Quiet { get; }

    /// <summary>The shipper's first <c>--aggregator host:port</c>, overriding the config's forward output target.</summary>
    public HostPort? Aggregator { get; }

    /// <summary>
    /// Every <c>--aggregator</c> endpoint in order: the option may repeat and each value may be a comma list
    /// (the shipper fails over between them).
    /// </summary>
    public IReadOnlyList<HostPort> Aggregators { get; }
}

/// <summary>
/// Fluent Bit-style command line shared by the aggregator and the shipper, so an operator can swap the binary
/// under an existing DaemonSet/Deployment spec: <c>-c FILE</c>, <c>--dry-run</c>, <c>-q</c>, <c>-h</c>.
/// Parsing never throws and never exits: it returns an error text so both programs print the same usage.
/// </summary>
public static class CommandLine
{
    /// <summary>Exit code for a usage error (unknown flag, missing value), as getopt tools do.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Exit code when the config has errors or the program failed.</summary>
    public const int FailureExitCode = 1;

    public static string ProgramName(GatewayProgram program) =>
        program == GatewayProgram.Aggregator ? "gateway-aggregator" : "gateway-shipper";

    public static bool TryParse(
        IReadOnlyList<string> args,
        GatewayProgram program,
        out CommandLineOptions options,
        out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        options = new CommandLineOptions(CommandLineMode.Help, null, false, Array.Empty<HostPort>());
        error = null;

        string? configPath = null;
        var dryRun = false;
        var quiet = false;
        var help = false;
        var version = false;
        var aggregator = new List<HostPort>();

        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;

            // --name=value is accepted for long options, as getopt_long does.
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0)
                {
                    inlineValue = arg[(eq + 1)..];
                    arg = arg[..eq];
                }
            }

            switch (arg)
            {
                case "-c":
                case "--config":
                    if (!TryTakeValue(args, ref i, arg, inlineValue, out configPath, out error))
                    {
                        return false;
                    }

                    break;
                case "--dry-run":
                    if (!RejectInlineValue(arg, inlineValue, out error))
                    {
                        return false;
                    }

                    dryRun = true;
                    break;
                case "-q":
                case "--quiet":
                    if (!RejectInlineValue(arg, inlineValue, out error))
                    {
                        return false;
                    }

                    quiet = true;
                    break;
                case "-h":
                case "--help":
                    help = true;
                    break;
                case "-v":
                case "-V":
                case "--version":
                    version = true;
                    break;
                case "--aggregator" when program == GatewayProgram.Shipper:
                    if (!TryTakeValue(args, ref i, arg, inlineValue, out var endpointText, out error))
                    {
                        return false;
                    }

                    foreach (var part in endpointText!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (!HostPort.TryParse(part, out var endpoint))
                        {
                            error = $"invalid value for --aggregator: '{part}' (expected host:port, e.g. aggregator.logging:24224)";
                            return false;
                        }

                        aggregator.Add(endpoint);
                    }

                    if (aggregator.Count == 0)
                    {
                        error = $"invalid value for --aggregator: '{endpointText}' (expected host:port, e.g. aggregator.logging:24224)";
                        return false;
                    }

                    break;
                default:
                    error = arg.StartsWith('-') && arg.Length > 1
                        ? $"unknown option: {arg}"
                        : $"unexpected argument: {arg}";
                    return false;
            }
        }

        // Help and version win over everything else, so `-h` works even next to a broken flag value.
        if (help)
        {
            options = new CommandLineOptions(CommandLineMode.Help, configPath, quiet, aggregator);
            return true;
        }

        if (version)
        {
            options = new CommandLineOptions(CommandLineMode.Version, configPath, quiet, aggregator);
            return true;
        }

        if (configPath is null)
        {
            error = dryRun
                ? "--dry-run needs a config file: pass -c FILE"
                : "no config file: pass -c FILE";
            return false;
        }

        options = new CommandLineOptions(dryRun ? CommandLineMode.DryRun : CommandLineMode.Run, configPath, quiet, aggregator);
        return true;
    }

    public static string Usage(GatewayProgram program)
    {
        var sb = new StringBuilder();
        sb.Append("Usage: ").Append(ProgramName(program)).AppendLine(" -c FILE [OPTIONS]");
        sb.AppendLine();
        sb.AppendLine("Options:");
        sb.AppendLine("  -c, --config FILE            Fluent Bit classic-format config file (required)");
        sb.AppendLine("      --dry-run                validate the config, print file:line diagnostics, exit (1 on errors)");
        if (program == GatewayProgram.Shipper)
        {
            sb.AppendLine("      --aggregator HOST:PORT   send to this aggregator instead of the config's forward output;");
            sb.AppendLine("                               repeat it or give a comma list for failover");
        }

        sb.AppendLine("  -q, --quiet                  print only warnings and errors");
        sb.AppendLine("  -v, --version                print the version and exit");
        sb.AppendLine("  -h, --help                   print this help and exit");
        return sb.ToString();
    }

    private static bool TryTakeValue(
        IReadOnlyList<string> args,
        ref int i,
        string option,
        string? inlineValue,
        out string? value,
        out string? error)
    {
        error = null;
        if (inlineValue is not null)
        {
            value = inlineValue;
        }
        else if (i + 1 < args.Count)
        {
            value = args[++i];
        }
        else
        {
            value = null;
            error = $"option {option} needs a value";
            return false;
        }

        if (value.Length == 0)
        {
            error = $"option {option} needs a non-empty value";
            return false;
        }

        return true;
    }

    private static bool RejectInlineValue(string option, string? inlineValue, out string? error)
    {
        error = inlineValue is null ? null : $"option {option} takes no value";
        return error is null;
    }
}
