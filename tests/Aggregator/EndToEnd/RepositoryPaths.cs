namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>Where the repository, the built aggregator, the client scripts and the shared fixtures are.</summary>
internal static class RepositoryPaths
{
    private static readonly Lazy<string> Root = new(FindRoot);

    /// <summary>The directory holding Gateway.sln, found by walking up from the test binaries.</summary>
    public static string RepositoryRoot => Root.Value;

    public static string ClientsDirectory => Path.Combine(RepositoryRoot, "tests", "clients");

    private static readonly Lazy<string> FixturesRoot = new(FindFixtures);

    /// <summary>
    /// <c>shared/fixtures</c>: next to the checkout (<c>../shared/fixtures</c>), or further up for a git worktree
    /// nested one level deeper.
    /// </summary>
    public static string Fixtures => FixturesRoot.Value;

    /// <summary>
    /// The aggregator built in the same configuration as these tests (the test project references it, so it is
    /// always built first): <c>src/Aggregator/bin/&lt;Configuration&gt;/net10.0/Gateway.Aggregator.dll</c>.
    /// </summary>
    public static string AggregatorDll
    {
        get
        {
            // AppContext.BaseDirectory is tests/Aggregator/bin/<Configuration>/<tfm>/.
            var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = tfmDir.Parent?.Name ?? "Debug";
            var path = Path.Combine(RepositoryRoot, "src", "Aggregator", "bin", configuration, tfmDir.Name, "Gateway.Aggregator.dll");
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"the aggregator is not built at {path}", path);
            }

            return path;
        }
    }

    private static string FindFixtures()
    {
        for (var dir = new DirectoryInfo(RepositoryRoot).Parent; dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "fixtures");
            if (Directory.Exists(Path.Combine(candidate, "seed-configs")))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException($"shared/fixtures not found next to {RepositoryRoot} or above it");
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Gateway.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Gateway.sln above {AppContext.BaseDirectory}");
    }
}
