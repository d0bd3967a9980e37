using System.Diagnostics;
using Gateway.Aggregator.Tests.EndToEnd;
using YamlDotNet.RepresentationModel;

namespace Gateway.Deployment.Tests;

/// <summary>
/// The config the chart installs: by default the Container Insights seed, unchanged, and both programs accept
/// what the ConfigMap holds with the environment the pod specs give them (<c>--dry-run</c> of the real builds).
/// </summary>
public sealed class ChartConfigTests
{
    private static Dictionary<string, string> ConfigMapData(List<(string Template, YamlMappingNode Manifest)> manifests) =>
        HelmChartTests.Map(HelmChartTests.Single(manifests, "ConfigMap", "gw-config"), "data");

    [Fact]
    public void Default_config_is_the_container_insights_seed_unchanged()
    {
        var data = ConfigMapData(HelmChartTests.Render());
        var seed = Path.Combine(RepositoryPaths.Fixtures, "seed-configs", "container-insights");
        foreach (var file in Directory.GetFiles(seed))
        {
            var name = Path.GetFileName(file);
            Assert.True(data.ContainsKey(name), $"the chart's ConfigMap lacks the seed's {name}");
            Assert.Equal(File.ReadAllText(file).TrimEnd('\n'), data[name].TrimEnd('\n'));
        }
    }

    [Theory]
    [InlineData("forward")]
    [InlineData("grpc")]
    public async Task Both_programs_accept_the_rendered_config_with_the_pod_environment(string protocol)
    {
        var manifests = HelmChartTests.Render(new() { ["shipper.protocol"] = protocol });
        var dir = Directory.CreateTempSubdirectory("gateway-chart-").FullName;
        try
        {
            foreach (var (name, content) in ConfigMapData(manifests))
            {
                await File.WriteAllTextAsync(Path.Combine(dir, name), content);
            }

            var aggregator = HelmChartTests.Single(manifests, "Deployment", "gw-aggregator");
            var shipper = HelmChartTests.Single(manifests, "DaemonSet", "gw-shipper");
            await AssertDryRunPassesAsync(RepositoryPaths.AggregatorDll, aggregator, dir);
            await AssertDryRunPassesAsync(ShipperDll, shipper, dir);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static string ShipperDll
    {
        get
        {
            var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var path = Path.Combine(RepositoryPaths.RepositoryRoot, "src", "Shipper", "bin", tfmDir.Parent!.Name, tfmDir.Name, "Gateway.Shipper.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"the shipper is not built at {path}", path);
        }
    }

    /// <summary>Runs the program with the container's args (config path moved to <paramref name="configDir"/>) plus --dry-run, and the container's env.</summary>
    private static async Task AssertDryRunPassesAsync(string dll, YamlMappingNode workload, string configDir)
    {
        var container = HelmChartTests.Items(workload, "spec.template.spec.containers").Single();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(dll);
        foreach (var arg in ((YamlSequenceNode)container["args"]).Children.Select(a => a.ToString()))
        {
            info.ArgumentList.Add(arg.StartsWith("/fluent-bit/etc/", StringComparison.Ordinal) ? Path.Combine(configDir, Path.GetFileName(arg)) : arg);
        }

        info.ArgumentList.Add("--dry-run");
        foreach (var env in HelmChartTests.Items(container, "env"))
        {
            // fieldRef values are the kubelet's to fill in: a node name and a pod name stand in for them.
            info.Environment[HelmChartTests.Scalar(env, "name")!] = HelmChartTests.Scalar(env, "value") ?? "ip-10-0-1-23.ec2.internal";
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(process.ExitCode == 0, $"{Path.GetFileName(dll)} {string.Join(' ', info.ArgumentList)} exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }
}
