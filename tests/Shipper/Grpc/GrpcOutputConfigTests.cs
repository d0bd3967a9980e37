using Gateway.Engine.Config;
using Gateway.Shipper.Hosting;
using Gateway.Shipper.Outputs.Grpc;
using Gateway.Shipper.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Tests.Grpc;

/// <summary><c>[OUTPUT] Name gateway_grpc</c> in the shipper's config selects the gRPC link.</summary>
public sealed class GrpcOutputConfigTests
{
    [Fact]
    public void Host_and_port_are_read_and_make_an_h2c_address()
    {
        var section = Section(("Name", "gateway_grpc"), ("Host", "aggregator.logging"), ("Port", "5000"));
        var diagnostics = new List<ConfigDiagnostic>();

        var options = GrpcOutputOptions.FromSection(section, diagnostics);

        Assert.Empty(diagnostics);
        Assert.Equal(new Uri("http://aggregator.logging:5000"), options!.Address);
    }

    [Fact]
    public void A_bad_port_is_an_error_at_its_line()
    {
        var section = Section(("Name", "gateway_grpc"), ("Port", "abc"));
        var diagnostics = new List<ConfigDiagnostic>();

        Assert.Null(GrpcOutputOptions.FromSection(section, diagnostics));

        var error = Assert.Single(diagnostics);
        Assert.Equal(12, error.Location.Line);
        Assert.Contains("Port 'abc'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_shipper_pipeline_builds_a_grpc_link_from_the_config_alone()
    {
        var document = new ConfigDocument("node.conf", [
            new ConfigSection(SectionKind.Input, "INPUT", new ConfigLocation("node.conf", 1), [
                new ConfigEntry("Name", "tail", new ConfigLocation("node.conf", 2)),
                new ConfigEntry("Path", "/nonexistent/*.log", new ConfigLocation("node.conf", 3)),
            ]),
            Section(("Name", "gateway_grpc"), ("Port", "24225")),
        ], []);
        var diagnostics = new List<ConfigDiagnostic>();

        var pipeline = ShipperPipeline.Build(new ShipperRunContext { Config = document, LoggerFactory = NullLoggerFactory.Instance, NodeName = "n" }, diagnostics);
        await using (pipeline)
        {
            Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.NotNull(pipeline.Forwarder);
        }
    }

    private static ConfigSection Section(params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry>();
        for (var i = 0; i < entries.Length; i++)
        {
            list.Add(new ConfigEntry(entries[i].Key, entries[i].Value, new ConfigLocation("node.conf", 10 + i + 1)));
        }

        return new ConfigSection(SectionKind.Output, "OUTPUT", new ConfigLocation("node.conf", 10), list);
    }
}
