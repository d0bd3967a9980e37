using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Hosting;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Tests.Inputs.Grpc;

/// <summary><c>[INPUT] Name gateway_grpc</c> in the aggregator's config: options, defaults and errors with file:line.</summary>
public sealed class GrpcInputPlanTests
{
    [Fact]
    public void Gateway_grpc_input_is_planned_with_its_defaults_and_options()
    {
        var config = ClassicConfigReader.Parse(
            "[INPUT]\n    Name gateway_grpc\n[INPUT]\n    Name gateway_grpc\n    Alias nodes\n    Listen 127.0.0.1\n    Port 5000\n    Tag_Prefix n.\n[OUTPUT]\n    Name null\n    Match *\n",
            "agg.conf");
        var diagnostics = new List<ConfigDiagnostic>();

        var plan = PipelinePlan.Create(config, diagnostics, probeOutputs: false, OutputFactory.Create, FilterFactory.IsSupported);

        Assert.Empty(diagnostics);
        Assert.Empty(plan.ForwardInputs);
        Assert.Equal(2, plan.GrpcInputs.Count);
        Assert.Equal(("0.0.0.0", 24225, (string?)null), (plan.GrpcInputs[0].Options.Listen, plan.GrpcInputs[0].Options.Port, plan.GrpcInputs[0].Options.TagPrefix));
        Assert.Equal(("nodes", "127.0.0.1", 5000, "n."), (plan.GrpcInputs[1].Options.Name, plan.GrpcInputs[1].Options.Listen, plan.GrpcInputs[1].Options.Port, plan.GrpcInputs[1].Options.TagPrefix));
    }

    [Fact]
    public void A_bad_port_is_an_error_at_its_line()
    {
        var config = ClassicConfigReader.Parse("[INPUT]\n    Name gateway_grpc\n    Port 70000\n", "agg.conf");
        var diagnostics = new List<ConfigDiagnostic>();

        var plan = PipelinePlan.Create(config, diagnostics, probeOutputs: false, OutputFactory.Create, FilterFactory.IsSupported);

        var error = Assert.Single(diagnostics);
        Assert.Equal(new ConfigLocation("agg.conf", 3), error.Location);
        Assert.Contains("Port: '70000' is not a TCP port number", error.Message, StringComparison.Ordinal);
        Assert.Empty(plan.GrpcInputs);
    }

    [Fact]
    public void The_catalog_knows_gateway_grpc_as_a_supported_input()
    {
        Assert.Contains((PluginKind.Input, "gateway_grpc"), PluginCatalog.SupportedByDefault);
    }
}
