namespace Gateway.Engine.Tests;

/// <summary>Finds the shared fixtures: the directory next to the repository root (the one holding Gateway.sln).</summary>
internal static class Fixtures
{
    private static readonly Lazy<string> Root = new(() => Gateway.Aggregator.Tests.EndToEnd.RepositoryPaths.Fixtures);

    public static string Path(params string[] parts) => System.IO.Path.Combine([Root.Value, .. parts]);

    public static string SeedConfig(string deployment, string file) => Path("seed-configs", deployment, file);
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
