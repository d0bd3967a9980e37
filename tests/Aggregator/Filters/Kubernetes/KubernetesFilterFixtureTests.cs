using Gateway.Aggregator.Filters.Kubernetes;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>The fixture container logs, enriched from the fixture pods through the fake API server.</summary>
public sealed class KubernetesFilterFixtureTests
{
    private const string Prefix = "application.var.log.containers.";

    [Fact]
    public async Task Probe()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(
            "Kube_Tag_Prefix application.var.log.containers.\nMerge_Log On\nMerge_Log_Key data\nK8S-Logging.Parser On\nK8S-Logging.Exclude On",
            KubernetesFilterHarness.SeedFixturePods,
            NginxParser);
        foreach (var pod in new[] { "nginx", "python-app", "user-service", "pose-job", "aws-node" })
        {
            var file = KubernetesFilterHarness.FixtureLogFile(pod);
            if (pod == "aws-node")
            {
                continue;
            }

            var events = KubernetesFilterHarness.DockerEvents(file, out var count);
            var lines = h.Run(Prefix + Path.GetFileName(file), events, count);
            foreach (var l in lines!)
            {
                Console.WriteLine(l);
            }
        }

        Assert.Equal(0, h.Server.UnauthorizedRequests);
    }

    internal const string NginxParser = """
        [PARSER]
            Name   nginx
            Format regex
            Regex ^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\"]*)" "(?<agent>[^\"]*)")
            Time_Key time
            Time_Format %d/%b/%Y:%H:%M:%S %z
        """;
}
