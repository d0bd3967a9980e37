using Gateway.Engine.Config;
using Gateway.Shipper.Pipeline;
using Gateway.Shipper.Tests.Support;

namespace Gateway.Shipper.Tests.Pipeline;

public sealed class ShipperPlanTests
{
    [Fact]
    public void Container_insights_seed_runs_its_inputs_and_aws_filters_on_the_node_and_leaves_the_rest()
    {
        var seed = SeedConfig.Load("container-insights/fluent-bit.conf");
        var diagnostics = new List<ConfigDiagnostic>();

        var plan = ShipperPlan.FromConfig(seed.Document, diagnostics);

        Assert.Empty(diagnostics);
        Assert.Equal(
            ["tail application.*", "systemd dataplane.systemd.*", "tail dataplane.tail.*", "tail host.dmesg", "tail host.messages", "tail host.secure"],
            plan.Inputs.Select(s => $"{s.PluginName} {s.Get("Tag")}"));
        Assert.Equal(["aws dataplane.*", "aws host.*"], plan.Filters.Select(s => $"{s.PluginName} {s.Get("Match")}"));
        Assert.Null(plan.ForwardOutput);

        // kubernetes, grep x2, nest x2, record_modifier, modify and the three cloudwatch_logs outputs.
        Assert.Equal(10, plan.LeftToAggregator.Count);
        Assert.Contains(plan.LeftToAggregator, s => s.PluginName == "kubernetes");
        Assert.Equal(3, plan.LeftToAggregator.Count(s => s.PluginName == "cloudwatch_logs"));
    }

    [Fact]
    public void Input_the_node_does_not_run_is_a_warning_naming_it_and_where()
    {
        var document = new ConfigDocument("node.conf", [
            Section(SectionKind.Input, 3, ("Name", "forward")),
            Section(SectionKind.Input, 7, ("Name", "tail"), ("Path", "/var/log/x.log")),
            Section(SectionKind.Output, 12, ("Name", "forward"), ("Host", "agg")),
        ], []);
        var diagnostics = new List<ConfigDiagnostic>();

        var plan = ShipperPlan.FromConfig(document, diagnostics);

        var warning = Assert.Single(diagnostics);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Equal(new ConfigLocation("node.conf", 3), warning.Location);
        Assert.Contains("[INPUT] forward is not run on the shipper", warning.Message, StringComparison.Ordinal);
        Assert.Single(plan.Inputs);
        Assert.Equal(12, plan.ForwardOutput!.Location.Line);
    }

    private static ConfigSection Section(SectionKind kind, int line, params (string Key, string Value)[] entries) =>
        new(kind, kind.ToString().ToUpperInvariant(), new ConfigLocation("node.conf", line), [.. entries.Select(e => new ConfigEntry(e.Key, e.Value, new ConfigLocation("node.conf", line + 1)))]);
}
