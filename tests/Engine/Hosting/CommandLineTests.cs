using Gateway.Engine.Config;
using Gateway.Engine.Hosting;

namespace Gateway.Engine.Tests.Hosting;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData("-c", "/etc/fb.conf")]
    [InlineData("--config", "/etc/fb.conf")]
    public void Config_flag_selects_run_mode(string flag, string path)
    {
        Assert.True(CommandLine.TryParse([flag, path], GatewayProgram.Aggregator, out var options, out var error), error);
        Assert.Equal(CommandLineMode.Run, options.Mode);
        Assert.Equal(path, options.ConfigPath);
        Assert.False(options.Quiet);
        Assert.Null(options.Aggregator);
    }

    [Fact]
    public void Long_option_accepts_equals_form()
    {
        Assert.True(CommandLine.TryParse(["--config=/x.conf", "--dry-run"], GatewayProgram.Shipper, out var options, out _));
        Assert.Equal(CommandLineMode.DryRun, options.Mode);
        Assert.Equal("/x.conf", options.ConfigPath);
    }

    [Fact]
    public void Dry_run_and_quiet_combine_in_any_order()
    {
        Assert.True(CommandLine.TryParse(["--dry-run", "-q", "-c", "a.conf"], GatewayProgram.Aggregator, out var options, out _));
        Assert.Equal(CommandLineMode.DryRun, options.Mode);
        Assert.True(options.Quiet);
        Assert.Equal("a.conf", options.ConfigPath);
    }

    [Theory]
    [InlineData("-h")]
    [InlineData("--help")]
    public void Help_wins_even_without_config(string flag)
    {
        Assert.True(CommandLine.TryParse([flag], GatewayProgram.Aggregator, out var options, out _));
        Assert.Equal(CommandLineMode.Help, options.Mode);
    }

    [Theory]
    [InlineData("-v")]
    [InlineData("-V")]
    [InlineData("--version")]
    public void Version_flags(string flag)
    {
        Assert.True(CommandLine.TryParse([flag], GatewayProgram.Shipper, out var options, out _));
        Assert.Equal(CommandLineMode.Version, options.Mode);
    }

    [Fact]
    public void Shipper_takes_aggregator_endpoint()
    {
        Assert.True(CommandLine.TryParse(["-c", "s.conf", "--aggregator", "agg.logging.svc:24224"], GatewayProgram.Shipper, out var options, out var error), error);
        Assert.Equal(new HostPort("agg.logging.svc", 24224), options.Aggregator);
    }

    [Fact]
    public void Aggregator_refuses_aggregator_flag_as_unknown()
    {
        Assert.False(CommandLine.TryParse(["-c", "a.conf", "--aggregator", "x:1"], GatewayProgram.Aggregator, out _, out var error));
        Assert.Equal("unknown option: --aggregator", error);
    }

    [Theory]
    [InlineData("--bogus", "unknown option: --bogus")]
    [InlineData("-x", "unknown option: -x")]
    [InlineData("stray", "unexpected argument: stray")]
    public void Unknown_arguments_are_named_in_the_error(string arg, string expected)
    {
        Assert.False(CommandLine.TryParse(["-c", "a.conf", arg], GatewayProgram.Aggregator, out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Missing_flag_value_is_an_error()
    {
        Assert.False(CommandLine.TryParse(["-c"], GatewayProgram.Aggregator, out _, out var error));
        Assert.Equal("option -c needs a value", error);
    }

    [Fact]
    public void Missing_config_is_an_error()
    {
        Assert.False(CommandLine.TryParse([], GatewayProgram.Aggregator, out _, out var error));
        Assert.Contains("-c FILE", error, StringComparison.Ordinal);
        Assert.False(CommandLine.TryParse(["--dry-run"], GatewayProgram.Aggregator, out _, out error));
        Assert.StartsWith("--dry-run needs a config file", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Flag_without_value_refuses_inline_value()
    {
        Assert.False(CommandLine.TryParse(["-c", "a", "--dry-run=yes"], GatewayProgram.Aggregator, out _, out var error));
        Assert.Equal("option --dry-run takes no value", error);
    }

    [Theory]
    [InlineData("127.0.0.1:24224", "127.0.0.1", 24224)]
    [InlineData("[::1]:24224", "::1", 24224)]
    [InlineData("agg:1", "agg", 1)]
    public void HostPort_parses(string text, string host, int port)
    {
        Assert.True(HostPort.TryParse(text, out var value));
        Assert.Equal(new HostPort(host, port), value);
        Assert.Equal(text, value.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("agg")]
    [InlineData("agg:")]
    [InlineData(":24224")]
    [InlineData("agg:0")]
    [InlineData("agg:65536")]
    [InlineData("agg:-1")]
    [InlineData("::1:24224")]
    [InlineData("[::1]24224")]
    public void HostPort_rejects(string text) => Assert.False(HostPort.TryParse(text, out _));

    [Fact]
    public void Invalid_aggregator_endpoint_is_explained()
    {
        Assert.False(CommandLine.TryParse(["-c", "s", "--aggregator", "nope"], GatewayProgram.Shipper, out _, out var error));
        Assert.Contains("--aggregator", error, StringComparison.Ordinal);
        Assert.Contains("host:port", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Usage_lists_aggregator_flag_only_for_shipper()
    {
        Assert.Contains("--aggregator", CommandLine.Usage(GatewayProgram.Shipper), StringComparison.Ordinal);
        Assert.DoesNotContain("--aggregator", CommandLine.Usage(GatewayProgram.Aggregator), StringComparison.Ordinal);
    }
}

public sealed class ProgramEntryTests
{
    [Fact]
    public void Unknown_flag_prints_error_and_usage_and_exits_2()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = ProgramEntry.HandleCommandLine(["--nope"], GatewayProgram.Aggregator, stdout, stderr, out _);
        Assert.Equal(2, exit);
        Assert.StartsWith("gateway-aggregator: unknown option: --nope", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("Usage: gateway-aggregator -c FILE", stderr.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stdout.ToString());
    }

    [Fact]
    public void Help_prints_usage_to_stdout_and_exits_0()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, ProgramEntry.HandleCommandLine(["-h"], GatewayProgram.Shipper, stdout, stderr, out _));
        Assert.Contains("Usage: gateway-shipper", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stderr.ToString());
    }

    [Fact]
    public void Version_prints_program_name_and_a_version()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Equal(0, ProgramEntry.HandleCommandLine(["--version"], GatewayProgram.Shipper, stdout, stderr, out _));
        Assert.Matches(@"^gateway-shipper \d+\.\d+", stdout.ToString());
    }

    [Fact]
    public void Run_mode_continues()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Assert.Null(ProgramEntry.HandleCommandLine(["-c", "x.conf"], GatewayProgram.Aggregator, stdout, stderr, out var options));
        Assert.Equal("x.conf", options.ConfigPath);
    }

    [Fact]
    public void Dry_run_report_prints_file_line_and_fails_on_errors()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        ConfigDiagnostic[] diagnostics =
        [
            new(new ConfigLocation("fluent-bit.conf", 3), DiagnosticSeverity.Error, "unknown key 'Retry _Limit'"),
            new(new ConfigLocation("parsers.conf", 12), DiagnosticSeverity.Warning, "unused parser 'x'"),
        ];
        var exit = ProgramEntry.ReportDiagnostics("fluent-bit.conf", 4, diagnostics, stdout, stderr);
        Assert.Equal(1, exit);
        Assert.Contains("fluent-bit.conf:3: error: unknown key 'Retry _Limit'", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("parsers.conf:12: warning: unused parser 'x'", stdout.ToString(), StringComparison.Ordinal);
        Assert.Contains("1 error(s) and 1 warning(s)", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Dry_run_report_succeeds_with_only_warnings()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        ConfigDiagnostic[] diagnostics =
        [
            new(new ConfigLocation("a.conf", 1), DiagnosticSeverity.Warning, "deprecated"),
        ];
        Assert.Equal(0, ProgramEntry.ReportDiagnostics("a.conf", 2, diagnostics, stdout, stderr));
        Assert.Contains("a.conf: configuration OK (2 section(s), 1 warning(s))", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stderr.ToString());
    }
}

public sealed class FluentBitLogLevelTests
{
    [Theory]
    [InlineData("off", Microsoft.Extensions.Logging.LogLevel.None)]
    [InlineData("error", Microsoft.Extensions.Logging.LogLevel.Error)]
    [InlineData("warn", Microsoft.Extensions.Logging.LogLevel.Warning)]
    [InlineData("warning", Microsoft.Extensions.Logging.LogLevel.Warning)]
    [InlineData(" INFO ", Microsoft.Extensions.Logging.LogLevel.Information)]
    [InlineData("debug", Microsoft.Extensions.Logging.LogLevel.Debug)]
    [InlineData("trace", Microsoft.Extensions.Logging.LogLevel.Trace)]
    public void Maps_fluent_bit_log_levels(string text, Microsoft.Extensions.Logging.LogLevel expected)
    {
        Assert.True(FluentBitLogLevel.TryParse(text, out var level));
        Assert.Equal(expected, level);
    }

    [Fact]
    public void Refuses_unknown_level() => Assert.False(FluentBitLogLevel.TryParse("verbose", out _));
}
