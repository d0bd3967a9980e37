namespace Gateway.Engine.Tests;

/// <summary>Finds the shared fixtures: the directory next to the repository root (the one holding Gateway.sln).</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Root = new(FindRoot);

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);

    public static string SeedConfig(string deployment, string file) => Path("seed-configs", deployment, file);

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(System.IO.Path.Combine(directory.FullName, "Gateway.sln")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            throw new InvalidOperationException($"Gateway.sln not found above {AppContext.BaseDirectory}");
        }

        // CI has shared/ next to the checkout; a git worktree sits one level deeper (wt/<name>), so keep walking up.
        for (var parent = directory.Parent; parent is not null; parent = parent.Parent)
        {
            var fixtures = System.IO.Path.Combine(parent.FullName, "shared", "fixtures");
            if (Directory.Exists(fixtures))
            {
                return fixtures;
            }
        }

        throw new InvalidOperationException($"shared/fixtures not found next to {directory.FullName} or above it");
    }
}

/// <summary>A temporary directory for config trees, deleted after the test.</summary>
internal sealed class TempConfigDirectory : IDisposable
{
    public TempConfigDirectory()
    {
        DirectoryPath = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gateway-config-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(DirectoryPath);
    }

    public string DirectoryPath { get; }

    public string Write(string relativePath, string text)
    {
        var path = System.IO.Path.Combine(DirectoryPath, relativePath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(DirectoryPath, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not fail a test.
        }
    }
}
