using System.Text;
using Gateway.Shipper.Tests.Support;
using Xunit.Abstractions;

namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>
/// A copy of one seed deployment's config directory (<c>fixtures/seed-configs/&lt;name&gt;</c>) that both programs
/// run, plus the few changes a test machine needs. Every change is named with its reason (<see cref="Overrides"/>,
/// printed by the tests) and must match the seed text exactly once or as often as stated, so a changed seed fails
/// the test loudly instead of silently running something else. Test-only sections go into a separate top file
/// (<see cref="WriteTopFile"/>) that includes the seed's own files.
/// </summary>
internal sealed class SeedDeployment
{
    private readonly List<string> _overrides = [];

    public SeedDeployment(string seed, string directory)
    {
        Seed = seed;
        Directory = directory;
        System.IO.Directory.CreateDirectory(directory);
        foreach (var file in System.IO.Directory.GetFiles(Path.Combine(Fixtures.Root, "seed-configs", seed)))
        {
            File.Copy(file, Path.Combine(directory, Path.GetFileName(file)), overwrite: true);
        }
    }

    public string Seed { get; }

    public string Directory { get; }

    /// <summary>What the test changed in the seed, one line each: file, from → to, why.</summary>
    public IReadOnlyList<string> Overrides => _overrides;

    /// <summary>Replaces <paramref name="from"/> with <paramref name="to"/> in a seed file; it must occur <paramref name="times"/> times.</summary>
    public void Replace(string file, string from, string to, string reason, int times = 1)
    {
        var path = Path.Combine(Directory, file);
        var text = File.ReadAllText(path);
        var count = Occurrences(text, from);
        if (count != times)
        {
            throw new InvalidOperationException($"{Seed}/{file}: expected '{from}' {times} time(s), found {count}; the seed changed, update the test");
        }

        File.WriteAllText(path, text.Replace(from, to, StringComparison.Ordinal));
        _overrides.Add($"{Seed}/{file}: '{OneLine(from)}' -> '{OneLine(to)}' ({reason})");
    }

    /// <summary>Writes a test-only file next to the seed's (a top file, a parsers file) and records why.</summary>
    public string WriteTopFile(string file, string text, string reason)
    {
        var path = Path.Combine(Directory, file);
        File.WriteAllText(path, text);
        _overrides.Add($"{Seed}/{file}: test-only file ({reason})");
        return path;
    }

    /// <summary>The seed file's text with one section (found by a line it contains) left out.</summary>
    public string WithoutSection(string file, string lineInSection)
    {
        var result = new StringBuilder();
        var section = new StringBuilder();
        var drop = false;
        var found = false;
        foreach (var line in File.ReadLines(Path.Combine(Directory, file)))
        {
            if (line.TrimStart().StartsWith('['))
            {
                if (!drop)
                {
                    result.Append(section);
                }

                section.Clear();
                drop = false;
            }

            section.AppendLine(line);
            if (line.Contains(lineInSection, StringComparison.Ordinal))
            {
                drop = true;
                found = true;
            }
        }

        if (!drop)
        {
            result.Append(section);
        }

        return found ? result.ToString() : throw new InvalidOperationException($"{Seed}/{file}: no section contains '{lineInSection}'");
    }

    public void Print(ITestOutputHelper output)
    {
        foreach (var line in _overrides)
        {
            output.WriteLine("override: " + line);
        }
    }

    private static int Occurrences(string text, string value)
    {
        var count = 0;
        for (var at = text.IndexOf(value, StringComparison.Ordinal); at >= 0; at = text.IndexOf(value, at + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static string OneLine(string text) => text.Replace("\n", "\\n", StringComparison.Ordinal);
}
