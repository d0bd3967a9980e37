using Gateway.Engine.Config;

namespace Gateway.Engine.Tests.Config;

/// <summary>The four configurations users run today load, and their known defects are reported with file and line.</summary>
public sealed class SeedConfigTests
{
    private static readonly Dictionary<string, string?> ContainerInsightsEnvironment = new()
    {
        ["AWS_REGION"] = "eu-west-1",
        ["CLUSTER_NAME"] = "prod-eks",
        ["HOST_NAME"] = "ip-10-0-1-23.eu-west-1.compute.internal",
        ["READ_FROM_HEAD"] = "Off",
        ["READ_FROM_TAIL"] = "On",
        ["HTTP_SERVER"] = "On",
        ["HTTP_PORT"] = "2020",
    };

    private static readonly Dictionary<string, string?> PerAppEnvironment = new()
    {
        ["AWS_REGION"] = "eu-west-1",
        ["ENVIRONMENT"] = "prod",
        ["NODEGROUP"] = "ng-1",
        ["HOST_NODE_NAME"] = "node-a",
        ["READ_FROM_HEAD"] = "Off",
        ["MASTER_URL"] = "https://kubernetes.default.svc:443",
    };

    [Theory]
    [InlineData("container-insights")]
    [InlineData("per-app-routing")]
    [InlineData("centralized")]
    [InlineData("firehose-lift")]
    public void Every_seed_loads_into_sections_without_throwing(string deployment)
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig(deployment, "fluent-bit.conf"), ContainerInsightsEnvironment);

        Assert.NotEmpty(doc.OfKind(SectionKind.Input));
        Assert.NotEmpty(doc.OfKind(SectionKind.Output));
        Assert.NotNull(ConfigValidator.Validate(doc, dryRun: true));
    }

    [Fact]
    public void Container_insights_resolves_three_includes_and_the_parsers_file()
    {
        var main = Fixtures.SeedConfig("container-insights", "fluent-bit.conf");

        var doc = ClassicConfigReader.Load(main, ContainerInsightsEnvironment);

        Assert.Empty(doc.Diagnostics);
        Assert.Equal(
            [
                main,
                Fixtures.SeedConfig("container-insights", "application-log.conf"),
                Fixtures.SeedConfig("container-insights", "dataplane-log.conf"),
                Fixtures.SeedConfig("container-insights", "host-log.conf"),
                Fixtures.SeedConfig("container-insights", "parsers.conf"),
            ],
            doc.LoadedFiles);
        Assert.Single(doc.OfKind(SectionKind.Service));
        Assert.Equal(6, doc.OfKind(SectionKind.Input).Count());
        Assert.Equal(9, doc.OfKind(SectionKind.Filter).Count());
        Assert.Equal(3, doc.OfKind(SectionKind.Output).Count());
        Assert.Equal(["syslog", "container_firstline", "cwagent_firstline"], doc.OfKind(SectionKind.Parser).Select(p => p.PluginName));
    }

    [Fact]
    public void Container_insights_substitutes_variables_from_the_supplied_environment()
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("container-insights", "fluent-bit.conf"), ContainerInsightsEnvironment);

        var hostOutput = doc.OfKind(SectionKind.Output).Single(o => o.Get("Match") == "host.*");
        Assert.Equal("eu-west-1", hostOutput.Get("region"));
        Assert.Equal("/aws/containerinsights/prod-eks/host", hostOutput.Get("log_group_name"));
        Assert.Equal("ip-10-0-1-23.eu-west-1.compute.internal.", hostOutput.Get("log_stream_prefix"));
        Assert.Equal(hostOutput.Location with { Line = 39 }, hostOutput.Location);
        Assert.EndsWith("host-log.conf", hostOutput.Location.File, StringComparison.Ordinal);

        var service = doc.OfKind(SectionKind.Service).Single();
        Assert.Equal("On", service.Get("http_server"));
        Assert.Equal("2020", service.Get("HTTP_PORT"));
    }

    [Fact]
    public void Container_insights_without_environment_warns_for_each_unset_variable_with_file_and_line()
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("container-insights", "fluent-bit.conf"), new Dictionary<string, string?>());

        Assert.False(doc.HasErrors);
        var hostStream = Assert.Single(doc.Diagnostics, d => d.Message.Contains("${HOST_NAME}", StringComparison.Ordinal)
            && d.Location.File.EndsWith("host-log.conf", StringComparison.Ordinal));
        Assert.Equal(DiagnosticSeverity.Warning, hostStream.Severity);
        Assert.Equal(44, hostStream.Location.Line);
        var output = doc.OfKind(SectionKind.Output).Single(o => o.Get("Match") == "host.*");
        Assert.Equal(".", output.Get("log_stream_prefix"));
    }

    [Fact]
    public void Container_insights_validates_clean_and_every_plugin_it_uses_is_supported()
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("container-insights", "fluent-bit.conf"), ContainerInsightsEnvironment);

        var normal = ConfigValidator.Validate(doc, dryRun: false);
        var dryRun = ConfigValidator.Validate(doc, dryRun: true);

        Assert.Empty(normal);
        Assert.Empty(dryRun); // tail, systemd, kubernetes, grep, nest, record_modifier, modify, aws, cloudwatch_logs
    }

    [Fact]
    public void Per_app_routing_reports_the_missing_host_conf_at_its_include_line()
    {
        var main = Fixtures.SeedConfig("per-app-routing", "fluent-bit.conf");

        var doc = ClassicConfigReader.Load(main, PerAppEnvironment);

        var error = Assert.Single(doc.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal(new ConfigLocation(main, 13), error.Location);
        Assert.Contains("'host.conf'", error.Message, StringComparison.Ordinal);
        Assert.Contains("not found", error.Message, StringComparison.Ordinal);

        // Everything else still loads: the two other includes and the parsers file.
        Assert.Equal(5, doc.OfKind(SectionKind.Input).Count());
        Assert.Equal(4, doc.OfKind(SectionKind.Parser).Count());
    }

    [Fact]
    public void Per_app_routing_reports_the_malformed_syslog_rfc5424_regex_at_its_line()
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("per-app-routing", "fluent-bit.conf"), PerAppEnvironment);

        var diagnostics = ConfigValidator.Validate(doc, dryRun: false);

        var regexError = Assert.Single(diagnostics, d => d.Message.Contains("invalid Regex", StringComparison.Ordinal));
        Assert.Equal(new ConfigLocation(Fixtures.SeedConfig("per-app-routing", "parsers.conf"), 10), regexError.Location);
        Assert.Equal(DiagnosticSeverity.Error, regexError.Severity);
        Assert.StartsWith("parser 'syslog-rfc5424': invalid Regex: ", regexError.Message, StringComparison.Ordinal);
        Assert.Contains("nested character class '[-0-9]'", regexError.Message, StringComparison.Ordinal);
        Assert.Contains("U+00A5 YEN SIGN", regexError.Message, StringComparison.Ordinal);
        Assert.Contains("'{1.2}'", regexError.Message, StringComparison.Ordinal);
        Assert.Contains("nested character class '[-0-9]'", regexError.Message, StringComparison.Ordinal);
        Assert.Contains("U+00A5 YEN SIGN", regexError.Message, StringComparison.Ordinal);
        Assert.Contains("'{1.2}'", regexError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_log_conf_reports_the_retry_limit_key_with_a_space_at_its_line()
    {
        var file = Fixtures.SeedConfig("per-app-routing", "host-log.conf");
        var doc = ClassicConfigReader.Load(file, PerAppEnvironment);

        var diagnostics = ConfigValidator.Validate(doc, dryRun: false);

        var error = Assert.Single(diagnostics, d => d.Location.Line == 22);
        Assert.Equal(new ConfigLocation(file, 22), error.Location);
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        Assert.StartsWith("unknown option 'Retry' for output plugin 'cloudwatch'; did you mean 'Retry_Limit'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_app_routing_with_the_include_fixed_reports_every_remaining_defect()
    {
        using var copy = new TempConfigDirectory();
        foreach (var file in Directory.GetFiles(Path.GetDirectoryName(Fixtures.SeedConfig("per-app-routing", "fluent-bit.conf"))!))
        {
            File.Copy(file, Path.Combine(copy.DirectoryPath, Path.GetFileName(file)));
        }

        var main = Path.Combine(copy.DirectoryPath, "fluent-bit.conf");
        File.WriteAllText(main, File.ReadAllText(main).Replace("@INCLUDE host.conf", "@INCLUDE host-log.conf", StringComparison.Ordinal));

        var doc = ClassicConfigReader.Load(main, PerAppEnvironment);
        var errors = ConfigValidator.Validate(doc, dryRun: false).Where(d => d.Severity == DiagnosticSeverity.Error).ToList();

        // Beyond the three documented defects: the systemd inputs use Read_From_Head, which systemd does not have
        // (Fluent Bit rejects unknown properties), and parsers.conf has no 'syslog' parser for host-log.conf.
        const string NoReadFromHead = "unknown option 'Read_From_Head' for input plugin 'systemd': systemd has no Read_From_Head: it reads the journal from the start unless 'Read_From_Tail On' is set";
        Assert.Equal(
            [
                (Path.Combine(copy.DirectoryPath, "kube-systemd.conf"), 7, NoReadFromHead),
                (Path.Combine(copy.DirectoryPath, "kube-systemd.conf"), 15, NoReadFromHead),
                (Path.Combine(copy.DirectoryPath, "host-log.conf"), 6, "Parser: parser 'syslog' is not defined in any Parsers_File"),
                (Path.Combine(copy.DirectoryPath, "host-log.conf"), 22, "unknown option 'Retry' for output plugin 'cloudwatch'; did you mean 'Retry_Limit'? (the line 'Retry _Limit' has a space inside the key)"),
                (Path.Combine(copy.DirectoryPath, "parsers.conf"), 10, "parser 'syslog-rfc5424': invalid Regex"),
            ],
            errors.Select(e => (e.Location.File, e.Location.Line, e.Message.StartsWith("parser 'syslog-rfc5424'", StringComparison.Ordinal) ? "parser 'syslog-rfc5424': invalid Regex" : e.Message)));
    }

    [Fact]
    public void Per_app_routing_keeps_record_accessor_templates_untouched()
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("per-app-routing", "fluent-bit.conf"), PerAppEnvironment);

        var output = doc.OfKind(SectionKind.Output).First(o => o.Get("Match") == "fluentbit.*");
        Assert.Equal("node-a_$(tag[4])", output.Get("log_stream_name"));
        Assert.Equal("/eks/prod/ng-1_fluentbit", output.Get("log_group_name"));

        // Trailing spaces after a value are trimmed, as in Fluent Bit.
        var sampleApp = doc.OfKind(SectionKind.Input).Single(i => i.Get("Tag") == "sample-app.*");
        Assert.Equal("Off", sampleApp.Get("Read_from_Head"));
    }

    [Fact]
    public void Centralized_reports_its_absolute_parsers_file_as_missing_at_the_service_line()
    {
        var main = Fixtures.SeedConfig("centralized", "fluent-bit.conf");

        var doc = ClassicConfigReader.Load(main, new Dictionary<string, string?>());

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(new ConfigLocation(main, 2), error.Location);
        Assert.Contains("/fluent-bit/parsers/parsers.conf", error.Message, StringComparison.Ordinal);
        Assert.Single(doc.OfKind(SectionKind.Input));
        Assert.Single(doc.OfKind(SectionKind.Filter));
        var output = Assert.Single(doc.OfKind(SectionKind.Output));
        Assert.Equal("**", output.Get("Match"));
        Assert.Equal("us-east-2", output.Get("region"));

        // With no parsers file, the tail input's "Parser docker" names nothing.
        var parserError = Assert.Single(ConfigValidator.Validate(doc, dryRun: false), d => d.Message.Contains("docker", StringComparison.Ordinal));
        Assert.Equal(new ConfigLocation(main, 9), parserError.Location);
        Assert.Equal("Parser: parser 'docker' is not defined in any Parsers_File", parserError.Message);
    }

    [Fact]
    public void Firehose_lift_loads_its_parser_with_decode_field_as_and_skips_indented_comments()
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("firehose-lift", "fluent-bit.conf"), new Dictionary<string, string?>());

        Assert.Empty(doc.Diagnostics);
        var parser = Assert.Single(doc.OfKind(SectionKind.Parser));
        Assert.Equal("docker", parser.PluginName);
        Assert.Equal("json        log", parser.Get("Decode_Field_As"));
        Assert.Equal(6, parser.Entries.Count);
        Assert.Equal("On", parser.Get("time_keep"));
        Assert.Empty(ConfigValidator.Validate(doc, dryRun: false));
    }

    [Fact]
    public void Firehose_lift_kubernetes_variant_loads_standalone()
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("firehose-lift", "kubernetes-variant.conf"), new Dictionary<string, string?>());

        Assert.Empty(doc.Diagnostics);
        Assert.Equal(["kubernetes", "record_modifier", "nest"], doc.OfKind(SectionKind.Filter).Select(f => f.PluginName));
    }
}
