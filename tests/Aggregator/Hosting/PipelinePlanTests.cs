using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Hosting;
using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Tests.Hosting;

/// <summary>One config drives the split system: the aggregator runs what the shipper does not.</summary>
public sealed class PipelinePlanTests
{
    private static readonly Dictionary<string, string?> Environment = new()
    {
        ["AWS_REGION"] = "us-west-2",
        ["CLUSTER_NAME"] = "demo",
        ["HOST_NAME"] = "ip-10-1-128-166",
        ["HTTP_SERVER"] = "On",
        ["HTTP_PORT"] = "2020",
        ["READ_FROM_HEAD"] = "Off",
        ["READ_FROM_TAIL"] = "On",
    };

    [Fact]
    public void Whole_system_seed_leaves_node_inputs_and_aws_to_the_shipper_and_listens_for_it()
    {
        var config = ClassicConfigReader.Load(
            Path.Combine(RepositoryPaths.Fixtures, "seed-configs", "container-insights", "fluent-bit.conf"), Environment);
        var diagnostics = new List<ConfigDiagnostic>();

        var plan = PipelinePlan.Create(config, diagnostics, probeOutputs: false, OutputFactory.Create, FilterFactory.IsSupported);

        // tail x5 (application, dataplane, dmesg, messages, secure) + systemd + aws x2 go to the shipper.
        Assert.Equal(6, plan.NodeSections.Count(s => s.Kind == SectionKind.Input));
        Assert.Equal(2, plan.NodeSections.Count(s => s.Kind == SectionKind.Filter && s.PluginName == "aws"));

        // No forward input in the config: the aggregator listens where the shipper sends by default.
        var listener = Assert.Single(plan.ForwardInputs);
        Assert.Equal(24224, listener.Options.Port);

        // kubernetes, grep, nest and record_modifier all run here.
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
    }

    [Fact]
    public void A_filter_the_aggregator_cannot_run_is_an_error_at_its_name_line()
    {
        var config = ClassicConfigReader.Parse(
            "[INPUT]\n    Name forward\n[FILTER]\n    Name lua\n    Match *\n[OUTPUT]\n    Name null\n    Match *\n", "agg.conf");
        var diagnostics = new List<ConfigDiagnostic>();

        PipelinePlan.Create(config, diagnostics, probeOutputs: false, OutputFactory.Create, _ => false);

        var error = Assert.Single(diagnostics);
        Assert.Equal(new ConfigLocation("agg.conf", 4), error.Location);
        Assert.Contains("'lua' is not available in the aggregator", error.Message, StringComparison.Ordinal);
    }
}
