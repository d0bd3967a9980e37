using Gateway.Aggregator.Tests.EndToEnd;
using System.Diagnostics.Metrics;
using Gateway.Aggregator.Filters;
using Gateway.Engine.Config;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters;

public sealed class FilterFactoryTests
{
    [Theory]
    [InlineData("container-insights")]
    [InlineData("per-app-routing")]
    [InlineData("firehose-lift")]
    public void Every_supported_filter_of_the_seed_configs_builds(string deployment)
    {
        var environment = new Dictionary<string, string?>
        {
            ["AWS_REGION"] = "eu-west-1", ["CLUSTER_NAME"] = "c", ["HOST_NAME"] = "h", ["HTTP_SERVER"] = "On", ["HTTP_PORT"] = "2020",
            ["READ_FROM_HEAD"] = "Off", ["READ_FROM_TAIL"] = "On", ["ENVIRONMENT"] = "prod", ["NODEGROUP"] = "ng", ["HOST_NODE_NAME"] = "n",
            ["MASTER_URL"] = "https://kubernetes.default.svc:443",
        };
        var document = ClassicConfigReader.Load(Path.Combine(RepositoryPaths.Fixtures, "seed-configs", deployment, "fluent-bit.conf"), environment);
        var built = 0;
        foreach (var section in document.OfKind(SectionKind.Filter))
        {
            if (FilterFactory.CreateIfSupported(section) is { } filter)
            {
                built++;
                Assert.Contains(section.Location.File, filter.Name, StringComparison.Ordinal);
            }
        }

        Assert.True(built > 0);
    }

    [Fact]
    public void Unsupported_or_nameless_sections_are_clear_errors()
    {
        var ex = Assert.Throws<ConfigException>(() => Filter(("Name", "lua"), ("Match", "*")));
        Assert.Contains("lua", ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, ex.Location.Line);
        Assert.Throws<ConfigException>(() => Filter(("Match", "*")));
        Assert.Null(FilterFactory.CreateIfSupported(Section(("Name", "kubernetes"), ("Match", "*"))));
        Assert.False(FilterFactory.TryCreate(Section(("Name", "grep"), ("Regex", "x")), out _, out var diagnostic));
        Assert.Equal(DiagnosticSeverity.Error, diagnostic!.Severity);
        Assert.Equal("my-grep", FilterFactory.Create(Section(("Name", "GREP"), ("Alias", "my-grep"), ("Regex", "a b"))).Name);
    }

    [Fact]
    public void Drops_and_rewrites_are_counted_per_filter()
    {
        var filter = FilterFactory.Create(Section(("Name", "grep"), ("Regex", "a x")), "grep-metrics-test");
        long dropped = 0;
        long seen = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Gateway" && instrument.Name.StartsWith("gateway.filter.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "filter" && (string?)tag.Value == "grep-metrics-test")
                {
                    if (instrument.Name == "gateway.filter.records_dropped")
                    {
                        Interlocked.Add(ref dropped, value);
                    }
                    else if (instrument.Name == "gateway.filter.records_in")
                    {
                        Interlocked.Add(ref seen, value);
                    }
                }
            }
        });
        listener.Start();
        Run(Chunk("{\"a\":\"x\"}", "{\"a\":\"y\"}", "{\"b\":1}"), filter);
        Assert.Equal(3, Interlocked.Read(ref seen));
        Assert.Equal(2, Interlocked.Read(ref dropped));
    }
}
