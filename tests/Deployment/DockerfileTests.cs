using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Gateway.Aggregator.Tests.EndToEnd;

namespace Gateway.Deployment.Tests;

/// <summary>
/// The two Dockerfiles, read as docker would (no engine here): what they publish, run, expose and run as must
/// line up with the projects and the chart. <c>scripts/publish-images.sh</c> (run by CI) executes their
/// <c>dotnet publish</c> commands for real.
/// </summary>
public sealed partial class DockerfileTests
{
    private sealed record Instruction(string Keyword, string Arguments, int Stage);

    private static List<Instruction> Parse(string file)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryPaths.RepositoryRoot, file));
        var joined = LineContinuation().Replace(text, " ");
        var instructions = new List<Instruction>();
        var stage = -1;
        foreach (var raw in joined.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            if (keyword == "FROM")
            {
                stage++;
            }

            instructions.Add(new Instruction(keyword, space < 0 ? string.Empty : line[(space + 1)..].Trim(), stage));
        }

        return instructions;
    }

    private static string[] JsonArray(Instruction instruction) => JsonSerializer.Deserialize<string[]>(instruction.Arguments)!;

    private static Instruction Last(List<Instruction> instructions, string keyword) => instructions.Last(i => i.Keyword == keyword);

    private static string PublishedProject(List<Instruction> instructions)
    {
        var publish = instructions.Where(i => i.Keyword == "RUN").Select(i => PublishCommand().Match(i.Arguments)).Single(m => m.Success);
        return publish.Groups["project"].Value;
    }

    private static string AssemblyName(string project)
    {
        var path = Path.Combine(RepositoryPaths.RepositoryRoot, project);
        Assert.True(File.Exists(path), $"the Dockerfile publishes {project}, which does not exist");
        return XDocument.Load(path).Descendants("AssemblyName").FirstOrDefault()?.Value ?? Path.GetFileNameWithoutExtension(path);
    }

    private static void AssertCopiesEverythingTheProjectNeeds(List<Instruction> instructions, string project)
    {
        var copied = instructions.Where(i => i.Keyword == "COPY" && !i.Arguments.StartsWith("--from", StringComparison.Ordinal))
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1]).ToList();
        Assert.Contains("Directory.Build.props", copied);
        Assert.Contains("Directory.Packages.props", copied);
        Assert.Contains("src/", copied);

        // Every project the published one references must be inside what was copied (src/).
        var pending = new Queue<string>([Path.Combine(RepositoryPaths.RepositoryRoot, project)]);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (pending.TryDequeue(out var current))
        {
            if (!seen.Add(Path.GetFullPath(current)))
            {
                continue;
            }

            var relative = Path.GetRelativePath(RepositoryPaths.RepositoryRoot, current);
            Assert.StartsWith("src" + Path.DirectorySeparatorChar, relative, StringComparison.Ordinal);
            foreach (var reference in XDocument.Load(current).Descendants("ProjectReference"))
            {
                pending.Enqueue(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(current)!, reference.Attribute("Include")!.Value)));
            }
        }
    }

    private static List<string> ChartPorts(string values, params string[] paths)
    {
        var stream = new YamlDotNet.RepresentationModel.YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Path.Combine(HelmChartTests.ChartDirectory, values))));
        return paths.Select(p => HelmChartTests.Scalar(stream.Documents[0].RootNode, p)!).ToList();
    }

    [Fact]
    public void Shipper_image_runs_the_native_binary_it_published_as_a_non_root_user()
    {
        var instructions = Parse("Dockerfile.shipper");
        var project = PublishedProject(instructions);
        Assert.Equal("src/Shipper/Gateway.Shipper.csproj", project);
        var publish = instructions.Single(i => i.Keyword == "RUN" && PublishCommand().IsMatch(i.Arguments)).Arguments;
        Assert.Contains("-c Release", publish, StringComparison.Ordinal);
        Assert.Contains("-r linux-x64", publish, StringComparison.Ordinal);
        Assert.Equal("true", XDocument.Load(Path.Combine(RepositoryPaths.RepositoryRoot, project)).Descendants("PublishAot").Single().Value);
        AssertCopiesEverythingTheProjectNeeds(instructions, project);

        var final = instructions.Max(i => i.Stage);
        Assert.StartsWith("mcr.microsoft.com/dotnet/runtime-deps:", instructions.Last(i => i.Keyword == "FROM").Arguments, StringComparison.Ordinal);
        var binary = instructions.Single(i => i.Keyword == "COPY" && i.Stage == final && i.Arguments.StartsWith("--from=build", StringComparison.Ordinal)).Arguments.Split(' ');
        Assert.Equal("/app/" + AssemblyName(project), binary[1]);
        Assert.Equal([binary[2]], JsonArray(Last(instructions, "ENTRYPOINT")));
        Assert.Equal("$APP_UID", Last(instructions, "USER").Arguments);
        Assert.Equal(["-c", "/fluent-bit/etc/fluent-bit.conf"], JsonArray(Last(instructions, "CMD")));
        Assert.Equal(ChartPorts("values.yaml", "clusterInfo.httpPort"), Last(instructions, "EXPOSE").Arguments.Split(' '));
    }

    [Fact]
    public void Aggregator_image_runs_the_published_dll_and_exposes_the_chart_ports_as_a_non_root_user()
    {
        var instructions = Parse("Dockerfile.aggregator");
        var project = PublishedProject(instructions);
        Assert.Equal("src/Aggregator/Gateway.Aggregator.csproj", project);
        AssertCopiesEverythingTheProjectNeeds(instructions, project);

        Assert.StartsWith("mcr.microsoft.com/dotnet/aspnet:", instructions.Last(i => i.Keyword == "FROM").Arguments, StringComparison.Ordinal);
        Assert.Equal(["dotnet", "/app/" + AssemblyName(project) + ".dll"], JsonArray(Last(instructions, "ENTRYPOINT")));
        Assert.Equal("$APP_UID", Last(instructions, "USER").Arguments);
        Assert.Equal(["-c", "/fluent-bit/etc/fluent-bit.conf"], JsonArray(Last(instructions, "CMD")));
        Assert.Equal(
            ChartPorts("values.yaml", "aggregator.forwardPort", "aggregator.grpc.port", "aggregator.httpPort"),
            Last(instructions, "EXPOSE").Arguments.Split(' '));
    }

    [Fact]
    public void Images_create_the_state_directory_the_chart_mounts()
    {
        foreach (var file in new[] { "Dockerfile.shipper", "Dockerfile.aggregator" })
        {
            var run = Parse(file).Where(i => i.Keyword == "RUN" && i.Stage > 0).Select(i => i.Arguments).Single();
            Assert.Contains("/var/fluent-bit/state", run, StringComparison.Ordinal);
            Assert.Contains("/fluent-bit/etc", run, StringComparison.Ordinal);
        }
    }

    [GeneratedRegex(@"\\\r?\n")]
    private static partial Regex LineContinuation();

    [GeneratedRegex(@"dotnet publish (?<project>\S+\.csproj)")]
    private static partial Regex PublishCommand();
}
