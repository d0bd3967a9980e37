using Gateway.Engine.Config;

namespace Gateway.Engine.Tests.Config;

public sealed class ConfigValidatorTests
{
    private static ConfigDocument Parse(string text) =>
        ClassicConfigReader.Parse(text, "/cfg/test.conf", new Dictionary<string, string?>());

    [Fact]
    public void A_supported_pipeline_has_no_diagnostics_even_under_dry_run()
    {
        var doc = Parse("""
            [SERVICE]
                Flush     1
                Log_Level info
            [INPUT]
                Name   forward
                Listen 0.0.0.0
                Port   24224
                storage.type filesystem
                Mem_Buf_Limit 10MB
            [OUTPUT]
                Name  stdout
                Match *
                Retry_Limit no_limits
                Workers 2
            """);

        Assert.Empty(ConfigValidator.Validate(doc, dryRun: true));
    }

    [Fact]
    public void Unknown_plugin_is_an_error_with_a_suggestion()
    {
        var doc = Parse("[OUTPUT]\n    Name cloudwatch_log\n    Match *\n");

        var error = Assert.Single(ConfigValidator.Validate(doc, dryRun: false));
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        Assert.Equal(2, error.Location.Line);
        Assert.Equal("unknown output plugin 'cloudwatch_log'; did you mean 'cloudwatch_logs'?", error.Message);
    }

    [Fact]
    public void Planned_plugin_is_reported_only_under_dry_run()
    {
        var doc = Parse("[OUTPUT]\n    Name opentelemetry\n    Match *\n    Logs_uri /v1/logs\n");

        Assert.Empty(ConfigValidator.Validate(doc, dryRun: false));
        var warning = Assert.Single(ConfigValidator.Validate(doc, dryRun: true));
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Equal("output plugin 'opentelemetry' is not supported yet", warning.Message);
        Assert.Equal(2, warning.Location.Line);
    }

    [Fact]
    public void Marking_a_plugin_supported_in_a_catalog_silences_the_dry_run_warning()
    {
        var catalog = PluginCatalog.CreateBuiltIn();
        var doc = Parse("[OUTPUT]\n    Name opentelemetry\n    Match *\n    Logs_uri /v1/logs\n");

        catalog.MarkSupported(PluginKind.Output, "OpenTelemetry");

        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Output, "opentelemetry"));
        Assert.Empty(ConfigValidator.Validate(doc, dryRun: true, catalog));
        Assert.Equal(PluginStatus.Planned, PluginCatalog.Default.GetStatus(PluginKind.Output, "opentelemetry"));
    }

    [Fact]
    public void A_plugin_registered_at_run_time_is_supported_and_its_options_unchecked()
    {
        var catalog = PluginCatalog.CreateBuiltIn();
        var doc = Parse("[OUTPUT]\n    Name http\n    Match *\n    uri /ingest\n    Retry_Limit x\n");

        Assert.Equal("unknown output plugin 'http'", Assert.Single(ConfigValidator.Validate(doc, dryRun: false, catalog)).Message);
        catalog.MarkSupported(PluginKind.Output, "http");

        Assert.Empty(ConfigValidator.Validate(doc, dryRun: true, catalog));
    }

    [Fact]
    public void Built_in_statuses_match_what_is_implemented_today()
    {
        var catalog = PluginCatalog.CreateBuiltIn();

        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Input, "forward"));
        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Output, "forward"));
        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Output, "stdout"));
        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Output, "file"));
        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Output, "null"));
        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Input, "tail"));
        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Filter, "kubernetes"));
        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Output, "cloudwatch_logs"));
        Assert.Equal(PluginStatus.Supported, catalog.GetStatus(PluginKind.Output, "s3"));
        Assert.Equal(PluginStatus.Planned, catalog.GetStatus(PluginKind.Output, "opentelemetry"));
        Assert.Equal(PluginStatus.Unknown, catalog.GetStatus(PluginKind.Input, "stdout"));
        Assert.Equal(PluginStatus.Unknown, catalog.GetStatus(PluginKind.Filter, "lua"));
    }

    [Fact]
    public void Unknown_option_key_is_an_error_with_a_did_you_mean()
    {
        var doc = Parse("[OUTPUT]\n    Name cloudwatch_logs\n    Match *\n    log_grup_name x\n    storage.total_limit_size 1G\n");

        var error = Assert.Single(ConfigValidator.Validate(doc, dryRun: false));
        Assert.Equal(4, error.Location.Line);
        Assert.Equal("unknown option 'log_grup_name' for output plugin 'cloudwatch_logs'; did you mean 'log_group_name'?", error.Message);
    }

    [Fact]
    public void Prefix_keys_accept_any_suffix()
    {
        var doc = Parse("[INPUT]\n    Name forward\n    tls.verify off\n    net.keepalive on\n    storage.type memory\n");

        Assert.Empty(ConfigValidator.Validate(doc, dryRun: false));
    }

    [Fact]
    public void Missing_name_and_bad_common_values_are_errors()
    {
        var doc = Parse("[INPUT]\n    Tag x\n[OUTPUT]\n    Name null\n    Match *\n    Retry_Limit many\n    Workers two\n");

        Assert.Equal(
            [
                "/cfg/test.conf:1: error: [INPUT] has no Name: every input needs 'Name <plugin>'",
                "/cfg/test.conf:6: error: Retry_Limit: 'many' is not a whole number",
                "/cfg/test.conf:7: error: Workers: 'two' is not a whole number",
            ],
            ConfigValidator.Validate(doc, dryRun: false).Select(d => d.ToString()));
    }

    [Fact]
    public void Output_without_match_is_a_warning()
    {
        var doc = Parse("[OUTPUT]\n    Name stdout\n");

        var warning = Assert.Single(ConfigValidator.Validate(doc, dryRun: false));
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Contains("no Match", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parser_sections_need_name_format_and_a_compilable_regex()
    {
        var doc = Parse("""
            [PARSER]
                Format json
            [PARSER]
                Name nofmt
            [PARSER]
                Name weird
                Format xml
            [PARSER]
                Name noregex
                Format regex
            [PARSER]
                Name broken
                Format regex
                Regex ^(?<a>x
            [PARSER]
                Name typed
                Format regex
                Regex ^(?<a>\h+)$
                Types a:integer b:date
                Time_Keep maybe
                Time_Offset 0900
                Decode_Field_As yaml log
                Time_Format %Y-%m-%dT%H:%M:%S%Q
            """);

        var messages = ConfigValidator.Validate(doc, dryRun: false).Select(d => $"{d.Location.Line}: {d.Message}").ToList();

        Assert.Equal(
            [
                "1: [PARSER] has no Name",
                "3: [PARSER] 'nofmt' has no Format (one of json, regex, logfmt, ltsv)",
                "7: parser 'weird': unknown Format 'xml' (one of json, regex, logfmt, ltsv)",
                "8: parser 'noregex' has Format regex but no Regex",
            ],
            messages.Take(4));
        Assert.StartsWith("14: parser 'broken': invalid Regex: ", messages[4], StringComparison.Ordinal);
        Assert.Equal(
            [
                "19: Types: 'b:date' must be key:type with type integer, float, bool, string or hex",
                "20: Time_Keep: 'maybe' is not a boolean (on/off, true/false, yes/no)",
                "21: Time_Offset: '0900' must look like +0900 or -07:00",
                "22: Decode_Field_As: 'yaml log' must be '<json|escaped|escaped_utf8|mysql_quoted> <field> [try_next|do_next]'",
                "23: Time_Format: %Q is not a strptime conversion (supported: %% %A %B %C %D %F %G %H %I %M %L %R %S %T %U %V %W %X %Y %Z %a %b %c %d %e %g %h %j %k %l %m %n %p %r %s %t %u %w %x %y %z)",
            ],
            messages.Skip(5));
    }

    [Fact]
    public void Unknown_parser_key_is_an_error()
    {
        var doc = Parse("[PARSER]\n    Name p\n    Format json\n    Time_Fromat %s\n");

        var error = Assert.Single(ConfigValidator.Validate(doc, dryRun: false));
        Assert.Equal("unknown option 'Time_Fromat' for [PARSER]; did you mean 'Time_Format'?", error.Message);
    }

    [Fact]
    public void Multiline_parser_rules_are_checked()
    {
        var doc = Parse("""
            [MULTILINE_PARSER]
                name  ml
                type  regex
                rule  "start_state"  "/^(Dec \d+)(.*)/"  "cont"
                rule  "cont"  "/^\s+at.*/"
                rule  "cont"  "/(/"  "cont"
            """);

        var messages = ConfigValidator.Validate(doc, dryRun: false).Select(d => (d.Location.Line, d.Message)).ToList();

        Assert.Equal(2, messages.Count);
        Assert.Equal(5, messages[0].Line);
        Assert.Contains("rule needs", messages[0].Message, StringComparison.Ordinal);
        Assert.Equal(6, messages[1].Line);
        Assert.Contains("invalid rule regex", messages[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Service_typos_warn_and_bad_values_are_errors()
    {
        var doc = Parse("[SERVICE]\n    Flsh 1\n    Daemon perhaps\n    Log_Level loud\n    storage.backlog.mem_limit 5Q\n");

        Assert.Equal(
            [
                (DiagnosticSeverity.Warning, "unknown option 'Flsh' for [SERVICE]; did you mean 'Flush'?"),
                (DiagnosticSeverity.Error, "Daemon: 'perhaps' is not a boolean (on/off, true/false, yes/no)"),
                (DiagnosticSeverity.Error, "Log_Level: 'loud' is not a log level (off, error, warn, info, debug, trace)"),
                (DiagnosticSeverity.Error, "storage.backlog.mem_limit: '5Q' is not a size such as 5MB, 5M, 50k, 1G or a number of bytes"),
            ],
            ConfigValidator.Validate(doc, dryRun: false).Select(d => (d.Severity, d.Message)));
    }

    [Fact]
    public void Parser_references_must_name_defined_parsers()
    {
        var doc = Parse("""
            [PARSER]
                Name   known
                Format json
            [MULTILINE_PARSER]
                Name  java_stack
                Type  regex
                Rule  "start_state" "/^\S/" "cont"
            [INPUT]
                Name   tail
                Path   /x
                Parser known
                Parser_1 missing_one
                multiline.parser docker, cri, java_stack, nope
            [FILTER]
                Name     parser
                Match    *
                Key_Name log
                Parser   ghost
            """);

        Assert.Equal(
            [
                "12: Parser_1: parser 'missing_one' is not defined in any Parsers_File",
                "13: multiline parser 'nope' is not defined (built in: docker, cri, go, python, java, ruby; others need a [MULTILINE_PARSER] in a Parsers_File)",
                "18: Parser: parser 'ghost' is not defined in any Parsers_File",
            ],
            ConfigValidator.Validate(doc, dryRun: false).Select(d => $"{d.Location.Line}: {d.Message}"));
    }

    [Fact]
    public void Validate_includes_the_load_diagnostics_first()
    {
        var doc = Parse("[INPUT]\nName forward\n    Name forward\n");

        var all = ConfigValidator.Validate(doc, dryRun: false);

        Assert.Equal(doc.Diagnostics, all);
    }
}
