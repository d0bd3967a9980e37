using System.Collections;

namespace Gateway.Engine.Config;

/// <summary>
/// Reads Fluent Bit's classic (<c>.conf</c>) format into a <see cref="ConfigDocument"/>: sections, entries,
/// <c>@INCLUDE</c>, <c>@SET</c>, <c>${VAR}</c> substitution and the <c>Parsers_File</c>s named in <c>[SERVICE]</c>.
/// Bad user input never throws: every problem becomes a <see cref="ConfigDiagnostic"/> with file and line,
/// and reading continues so one run reports everything that is wrong.
/// </summary>
public static class ClassicConfigReader
{
    /// <summary>Reads a config file from disk.</summary>
    /// <param name="path">The main config file; includes and parsers files are resolved against its directory.</param>
    /// <param name="environment">Variables for <c>${NAME}</c>; null means the process environment.</param>
    public static ConfigDocument Load(string path, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var loader = new ClassicConfigLoader(environment ?? ReadProcessEnvironment());
        return loader.LoadMainFile(path);
    }

    /// <summary>
    /// Parses config text as if it were the file <paramref name="fileName"/>; includes and parsers files it names
    /// are still read from disk, relative to <paramref name="fileName"/>'s directory.
    /// </summary>
    public static ConfigDocument Parse(string text, string fileName, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(fileName);
        var loader = new ClassicConfigLoader(environment ?? ReadProcessEnvironment());
        return loader.ParseMainText(text, fileName);
    }

    private static Dictionary<string, string?> ReadProcessEnvironment()
    {
        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            if (entry.Key is string key)
            {
                result[key] = entry.Value as string;
            }
        }

        return result;
    }
}
