using Gateway.Engine.Config;
using Gateway.Engine.Forward;
using Gateway.Engine.Hosting;
using Gateway.Shipper.Hosting;
using Gateway.Shipper.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Tests.Pipeline;

public sealed class ShipperUpstreamTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gw-shipper-upstream-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ConfigDocument Config(string upstreamText)
    {
        File.WriteAllText(Path.Combine(_directory, "upstream.conf"), upstreamText);
        var path = Path.Combine(_directory, "node.conf");
        File.WriteAllText(path, "[INPUT]\n    Name tail\n    Path /nonexistent/*.log\n\n[OUTPUT]\n    Name forward\n    Match *\n    Upstream upstream.conf\n");
        var document = ClassicConfigReader.Load(path, new Dictionary<string, string?>());
        Assert.False(document.HasErrors, string.Join("; ", document.Diagnostics));
        return document;
    }

    private const string TwoNodes = "[UPSTREAM]\n    name aggregators\n[NODE]\n    name a\n    host 10.0.0.1\n    port 24224\n[NODE]\n    name b\n    host 10.0.0.2\n    port 24225\n";

    [Fact]
    public async Task Forward_output_with_an_upstream_file_balances_its_nodes_round_robin_with_acks()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var pipeline = ShipperPipeline.Build(new ShipperRunContext { Config = Config(TwoNodes), LoggerFactory = NullLoggerFactory.Instance, NodeName = "n" }, diagnostics);
        await using (pipeline)
        {
            Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
            var link = Assert.IsType<ForwardClientOptions>(pipeline.ForwardLink);
            Assert.Equal(ForwardBalance.RoundRobin, link.Balance);
            Assert.Equal([new ForwardEndpoint("10.0.0.1", 24224), new ForwardEndpoint("10.0.0.2", 24225)], link.Endpoints);
            Assert.True(link.RequireAck);
        }
    }

    [Fact]
    public async Task Aggregator_list_on_the_command_line_wins_and_stays_failover()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var context = new ShipperRunContext
        {
            Config = Config(TwoNodes),
            LoggerFactory = NullLoggerFactory.Instance,
            NodeName = "n",
            Aggregators = [new HostPort("agg-1", 24224), new HostPort("agg-2", 24224)],
        };
        var pipeline = ShipperPipeline.Build(context, diagnostics);
        await using (pipeline)
        {
            var link = Assert.IsType<ForwardClientOptions>(pipeline.ForwardLink);
            Assert.Equal(ForwardBalance.Failover, link.Balance);
            Assert.Equal([new ForwardEndpoint("agg-1", 24224), new ForwardEndpoint("agg-2", 24224)], link.Endpoints);
        }
    }

    [Fact]
    public async Task Bad_upstream_file_is_a_diagnostic_at_its_file_and_line()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var pipeline = ShipperPipeline.Build(
            new ShipperRunContext { Config = Config("[UPSTREAM]\n    name u\n[NODE]\n    host h\n    port zero\n"), LoggerFactory = NullLoggerFactory.Instance, NodeName = "n" },
            diagnostics);
        await using (pipeline)
        {
            var error = Assert.Single(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
            Assert.Equal(new ConfigLocation(Path.Combine(_directory, "upstream.conf"), 5), error.Location);
            Assert.Null(pipeline.ForwardLink);
        }
    }
}
