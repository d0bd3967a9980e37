using System.Text.RegularExpressions;
using Gateway.Aggregator.Hosting;
using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Tests.EndToEnd;
using YamlDotNet.RepresentationModel;

namespace Gateway.Aggregator.Tests.Hosting;

/// <summary>The Helm chart under deploy/helm/gateway: parses, and its templates only use values that exist.</summary>
public sealed partial class HelmChartTests
{
    private static string ChartDirectory => Path.Combine(RepositoryPaths.RepositoryRoot, "deploy", "helm", "gateway");

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(Path.Combine(ChartDirectory, file));
        stream.Load(reader);
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    [Fact]
    public void Chart_yaml_is_a_v2_application_chart()
    {
        var chart = Load("Chart.yaml");
        Assert.Equal("v2", chart["apiVersion"].ToString());
        Assert.Equal("gateway", chart["name"].ToString());
        Assert.Equal("application", chart["type"].ToString());
    }

    [Fact]
    public void Every_values_reference_in_the_templates_exists_in_values_yaml()
    {
        var values = Load("values.yaml");
        var missing = new List<string>();
        foreach (var template in Directory.GetFiles(Path.Combine(ChartDirectory, "templates")))
        {
            foreach (Match match in ValuesReference().Matches(File.ReadAllText(template)))
            {
                YamlNode node = values;
                foreach (var part in match.Groups[1].Value.Split('.'))
                {
                    if (node is YamlMappingNode mapping && mapping.Children.TryGetValue(new YamlScalarNode(part), out var child))
                    {
                        node = child;
                    }
                    else
                    {
                        missing.Add($"{Path.GetFileName(template)}: .Values.{match.Groups[1].Value}");
                        break;
                    }
                }
            }
        }

        Assert.Empty(missing);
    }

    [Fact]
    public async Task Aggregator_config_in_values_passes_dry_run()
    {
        var config = ((YamlScalarNode)((YamlMappingNode)Load("values.yaml")["aggregator"])["config"]).Value!;
        var dir = Directory.CreateTempSubdirectory("gateway-helm-").FullName;
        try
        {
            var path = Path.Combine(dir, "fluent-bit.conf");
            await File.WriteAllTextAsync(path, config);
            using var stdout = new StringWriter();
            using var stderr = new StringWriter();
            var exit = await AggregatorProgram.RunAsync(["-c", path, "--dry-run"], OutputFactory.Create, stdout, stderr);
            Assert.True(exit == 0, stderr.ToString());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [GeneratedRegex(@"\.Values\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValuesReference();
}
