using Gateway.Engine.Config;
using Gateway.Engine.Forward;

namespace Gateway.Engine.Tests.Forward;

public sealed class ForwardUpstreamFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gw-upstream-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ForwardOutputSettings Read(string upstreamText, string outputExtra = "")
    {
        Directory.CreateDirectory(Path.Combine(_directory, "conf"));
        File.WriteAllText(Path.Combine(_directory, "conf", "upstream.conf"), upstreamText);
        var configPath = Path.Combine(_directory, "fluent-bit.conf");
        var text = "[OUTPUT]\n    Name forward\n    Match *\n    Upstream conf/upstream.conf\n" + outputExtra;
        File.WriteAllText(configPath, text);
        var document = ClassicConfigReader.Load(configPath, new Dictionary<string, string?>());
        Assert.False(document.HasErrors, string.Join("; ", document.Diagnostics));
        return ForwardOutputSettings.FromSection(document.OfKind(SectionKind.Output).Single(), "forward.0", _directory);
    }

    private string UpstreamPath => Path.GetFullPath(Path.Combine(_directory, "conf", "upstream.conf"));

    [Fact]
    public void Upstream_nodes_become_round_robin_endpoints_with_their_own_shared_key_and_tls()
    {
        var settings = Read("""
            [UPSTREAM]
                name       forward-balancing

            [NODE]
                name       node-1
                host       10.0.0.1
                port       43000

            [NODE]
                name       node-2
                host       10.0.0.2
                shared_key secret-2
                tls        on
            """);

        Assert.Equal(ForwardBalance.RoundRobin, settings.Client.Balance);
        Assert.Equal(2, settings.Client.Endpoints.Count);
        Assert.Equal(new ForwardEndpoint("10.0.0.1", 43000), settings.Client.Endpoints[0]);
        var second = settings.Client.Endpoints[1];
        Assert.Equal("10.0.0.2", second.Host);
        Assert.Equal(24224, second.Port);
        Assert.Equal("secret-2", second.SharedKey);
        Assert.True(second.Tls);
        Assert.Null(settings.Client.Endpoints[0].SharedKey);
        Assert.Null(settings.Client.Endpoints[0].Tls);
    }

    [Fact]
    public void Without_upstream_a_single_host_stays_failover()
    {
        var document = ClassicConfigReader.Parse("[OUTPUT]\n    Name forward\n    Host 10.1.1.1\n", "x.conf", new Dictionary<string, string?>());
        var settings = ForwardOutputSettings.FromSection(document.OfKind(SectionKind.Output).Single(), "forward.0", _directory);
        Assert.Equal(ForwardBalance.Failover, settings.Client.Balance);
        Assert.Equal(new ForwardEndpoint("10.1.1.1", 24224), Assert.Single(settings.Client.Endpoints));
    }

    [Fact]
    public void Bad_port_in_a_node_is_reported_at_the_upstream_file_and_line()
    {
        var error = Assert.Throws<ConfigException>(() => Read("[UPSTREAM]\n    name up\n[NODE]\n    name n1\n    host h\n    port 99999\n"));
        Assert.Equal(new ConfigLocation(UpstreamPath, 6), error.Location);
        Assert.Contains("99999", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Node_without_host_is_reported_at_its_section()
    {
        var error = Assert.Throws<ConfigException>(() => Read("[UPSTREAM]\n    name up\n\n[NODE]\n    name n1\n    port 24224\n"));
        Assert.Equal(new ConfigLocation(UpstreamPath, 4), error.Location);
        Assert.Contains("host", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unsupported_node_key_is_refused_with_its_line()
    {
        var error = Assert.Throws<ConfigException>(() => Read("[UPSTREAM]\n    name up\n[NODE]\n    host h\n    tls.verify off\n"));
        Assert.Equal(new ConfigLocation(UpstreamPath, 5), error.Location);
        Assert.Contains("tls.verify", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Upstream_file_without_nodes_or_upstream_section_is_an_error()
    {
        var noNodes = Assert.Throws<ConfigException>(() => Read("[UPSTREAM]\n    name up\n"));
        Assert.Contains("no [NODE]", noNodes.Message, StringComparison.Ordinal);
        Assert.Equal(UpstreamPath, noNodes.Location.File);

        var noUpstream = Assert.Throws<ConfigException>(() => Read("[NODE]\n    host h\n"));
        Assert.Contains("no [UPSTREAM]", noUpstream.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_upstream_file_is_reported_at_the_upstream_option()
    {
        var configPath = Path.Combine(_directory, "fluent-bit.conf");
        File.WriteAllText(configPath, "[OUTPUT]\n    Name forward\n    Upstream nowhere.conf\n");
        var document = ClassicConfigReader.Load(configPath, new Dictionary<string, string?>());
        var error = Assert.Throws<ConfigException>(() =>
            ForwardOutputSettings.FromSection(document.OfKind(SectionKind.Output).Single(), "forward.0", _directory));
        Assert.Equal(new ConfigLocation(Path.GetFullPath(configPath), 3), error.Location);
        Assert.Contains("nowhere.conf", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Host_and_upstream_together_are_refused()
    {
        var error = Assert.Throws<ConfigException>(() => Read("[UPSTREAM]\n    name up\n[NODE]\n    host h\n", "    Host other\n"));
        Assert.Contains("not both", error.Message, StringComparison.Ordinal);
    }
}
