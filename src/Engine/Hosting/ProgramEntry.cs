using System.Reflection;
using Gateway.Engine.Config;

namespace Gateway.Engine.Hosting;

/// <summary>
/// The start of both programs' <c>Main</c>: parses the command line and handles everything that ends the process
/// before the host is built (help, version, usage errors, the dry-run report), so both programs behave alike.
/// </summary>
public static class ProgramEntry
{
    /// <summary>
    /// Parses <paramref name="args"/>. Returns an exit code when the process should stop now (help, version,
    /// usage error), or null with <paramref name="options"/> set when it should go on to load the config.
    /// </summary>
    public static int? HandleCommandLine(
        IReadOnlyList<string> args,
        GatewayProgram program,
        TextWriter stdout,
        TextWriter stderr,
        out CommandLineOptions options)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (!CommandLine.TryParse(args, program, out options, out var error))
        {
            stderr.WriteLine($"{CommandLine.ProgramName(program)}: {error}");
            stderr.WriteLine();
            stderr.Write(CommandLine.Usage(program));
            return CommandLine.UsageExitCode;
        }

        switch (options.Mode)
        {
            case CommandLineMode.Help:
                stdout.Write(CommandLine.Usage(program));
                return 0;
            case CommandLineMode.Version:
                stdout.WriteLine($"{CommandLine.ProgramName(program)} {VersionText()}");
                return 0;
            default:
                return null;
        }
    }

    /// <summary>
    /// Loads and validates the config named by <c>-c</c>. Null (after saying why on stderr) when the file does not
    /// exist; otherwise the document, with the validator's diagnostics in <paramref name="diagnostics"/> for the
    /// program to add its own to before <see cref="StopAfterValidation"/>.
    /// </summary>
    public static ConfigDocument? LoadConfig(CommandLineOptions options, TextWriter stderr, out List<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stderr);
        var configPath = options.ConfigPath!;
        if (!File.Exists(configPath))
        {
            stderr.WriteLine($"{configPath}: error: config file not found");
            diagnostics = [];
            return null;
        }

        var config = ClassicConfigReader.Load(configPath);
        diagnostics = [.. ConfigValidator.Validate(config, options.Mode == CommandLineMode.DryRun)];
        return config;
    }

    /// <summary>
    /// Where validation ends the process: <c>--dry-run</c> prints its report and exits; a normal start refuses a
    /// config with errors too, printing the same file:line lines, rather than running a half-understood pipeline.
    /// Null when the program should go on and start.
    /// </summary>
    public static int? StopAfterValidation(CommandLineOptions options, ConfigDocument config, IReadOnlyList<ConfigDiagnostic> diagnostics, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(diagnostics);
        if (options.Mode == CommandLineMode.DryRun)
        {
            return ReportDiagnostics(options.ConfigPath!, config.Sections.Count, diagnostics, stdout, stderr);
        }

        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Severity == DiagnosticSeverity.Error)
            {
                return ReportDiagnostics(options.ConfigPath!, config.Sections.Count, diagnostics, TextWriter.Null, stderr);
            }
        }

        return null;
    }

    /// <summary>
    /// Prints every diagnostic as <c>file:line: severity: message</c> (errors to stderr, warnings to stdout so a
    /// clean run's output is only the summary) and returns the dry-run exit code: 1 when any error, else 0.
    /// </summary>
    public static int ReportDiagnostics(
        string configPath,
        int sectionCount,
        IEnumerable<ConfigDiagnostic> diagnostics,
        TextWriter stdout,
        TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(diagnostics);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var errors = 0;
        var warnings = 0;
        foreach (var diagnostic in diagnostics)
        {
            if (diagnostic.Severity == DiagnosticSeverity.Error)
            {
                errors++;
                stderr.WriteLine(diagnostic.ToString());
            }
            else
            {
                warnings++;
                stdout.WriteLine(diagnostic.ToString());
            }
        }

        if (errors > 0)
        {
            stderr.WriteLine($"{configPath}: configuration has {errors} error(s) and {warnings} warning(s)");
            return CommandLine.FailureExitCode;
        }

        stdout.WriteLine($"{configPath}: configuration OK ({sectionCount} section(s), {warnings} warning(s))");
        return 0;
    }

    /// <summary>The informational version of the running program (set by the build), else its assembly version.</summary>
    public static string VersionText()
    {
        var assembly = Assembly.GetEntryAssembly() ?? typeof(ProgramEntry).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (!string.IsNullOrEmpty(informational))
        {
            // The SDK appends "+<commit>"; keep it: it tells which build is running.
            return informational;
        }

        return assembly.GetName().Version?.ToString() ?? "0.0.0";
    }
}
