using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Hosting;
using Gateway.Aggregator.Inputs.Grpc;
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

    [Fact]
    public void Opentelemetry_input_is_planned_on_the_OTLP_gRPC_port_with_its_tag()
    {
        var tokens = Path.GetTempFileName();
        try
        {
            var config = ClassicConfigReader.Parse(
                $"[INPUT]\n    Name opentelemetry\n[INPUT]\n    Name opentelemetry\n    Alias apps\n    Tag otel.apps\n    Port 14317\n    auth_token_file {tokens}\n    Buffer_Max_Size 1M\n[OUTPUT]\n    Name null\n    Match *\n",
                "agg.conf");
            var diagnostics = new List<ConfigDiagnostic>();

            var plan = PipelinePlan.Create(config, diagnostics, probeOutputs: false, OutputFactory.Create, FilterFactory.IsSupported);

            Assert.Empty(diagnostics);
            var (defaults, apps) = (plan.GrpcInputs[0].Options, plan.GrpcInputs[1].Options);
            Assert.Equal((GrpcInputProtocol.OtlpLogs, "opentelemetry", 4317, "v1_logs", 4 * 1024 * 1024, false), (defaults.Protocol, defaults.Name, defaults.Port, defaults.Tag, defaults.MaxBatchBytes, defaults.RequiresAuthentication));
            Assert.Equal((GrpcInputProtocol.OtlpLogs, "apps", 14317, "otel.apps", 1_000_000, tokens), (apps.Protocol, apps.Name, apps.Port, apps.Tag, apps.MaxBatchBytes, apps.AuthTokenFile));
            Assert.True(apps.RequiresAuthentication);
        }
        finally
        {
            File.Delete(tokens);
        }
    }

    [Fact]
    public void Missing_token_file_and_tls_verify_without_tls_are_errors_at_their_lines()
    {
        var config = ClassicConfigReader.Parse("[INPUT]\n    Name gateway_grpc\n    auth_token_file /nonexistent/tokens\n    tls.verify on\n", "agg.conf");
        var diagnostics = new List<ConfigDiagnostic>();

        var plan = PipelinePlan.Create(config, diagnostics, probeOutputs: false, OutputFactory.Create, FilterFactory.IsSupported);

        Assert.Equal(2, diagnostics.Count);
        Assert.Equal(new ConfigLocation("agg.conf", 3), diagnostics[0].Location);
        Assert.Contains("auth_token_file: '/nonexistent/tokens' does not exist", diagnostics[0].Message, StringComparison.Ordinal);
        Assert.Equal(new ConfigLocation("agg.conf", 4), diagnostics[1].Location);
        Assert.Contains("tls.verify is on but tls is off", diagnostics[1].Message, StringComparison.Ordinal);
        Assert.Empty(plan.GrpcInputs);
    }

    [Fact]
    public void The_catalog_knows_opentelemetry_as_a_supported_input()
    {
        Assert.Contains((PluginKind.Input, "opentelemetry"), PluginCatalog.SupportedByDefault);
    }
}
