namespace Gateway.Engine.Config;

/// <summary>Where a config line came from, for file:line diagnostics.</summary>
public readonly record struct ConfigLocation(string File, int Line)
{
    public override string ToString() => $"{File}:{Line}";
}

public enum DiagnosticSeverity
{
    Warning,
    Error,
}

/// <summary>A problem found while loading or validating a config, always tied to a file and line.</summary>
public sealed record ConfigDiagnostic(ConfigLocation Location, DiagnosticSeverity Severity, string Message)
{
    public override string ToString() =>
        $"{Location}: {(Severity == DiagnosticSeverity.Error ? "error" : "warning")}: {Message}";
}

/// <summary>One <c>key value</c> line of a section; the key keeps its original spelling.</summary>
public sealed record ConfigEntry(string Key, string Value, ConfigLocation Location)
{
    /// <summary>
    /// Node variables that <see cref="Value"/> substituted (<c>${HOST_NAME}</c>, <c>${NODE_NAME}</c>,
    /// <c>${HOST_NODE_NAME}</c>, <c>${HOSTNAME}</c>) kept as written, every other variable substituted; null when
    /// the value uses none. An aggregator output that names things per sending node (CloudWatch streams) resolves
    /// them from the chunk's node instead of the aggregator's own environment.
    /// </summary>
    public string? NodeTemplate { get; init; }
}

/// <summary>The section kinds of Fluent Bit's classic format.</summary>
public enum SectionKind
{
    Service,
    Input,
    Filter,
    Output,
    Parser,
    MultilineParser,
    Upstream,
    Node,
    Other,
}

/// <summary>
/// A <c>[SECTION]</c> with its entries in file order. Keys are case-insensitive, as in Fluent Bit; a key may
/// repeat (e.g. <c>Remove_key</c>, <c>Systemd_Filter</c>), so lookups offer first/all.
/// </summary>
public sealed class ConfigSection
{
    public ConfigSection(SectionKind kind, string header, ConfigLocation location, IReadOnlyList<ConfigEntry> entries)
    {
        Kind = kind;
        Header = header;
        Location = location;
        Entries = entries;
    }

    public SectionKind Kind { get; }

    /// <summary>The header text as written, e.g. <c>INPUT</c>.</summary>
    public string Header { get; }

    public ConfigLocation Location { get; }

    public IReadOnlyList<ConfigEntry> Entries { get; }

    /// <summary>The plugin name (<c>Name</c> key), or null when missing.</summary>
    public string? PluginName => Get("Name");

    /// <summary>Last value wins for single-valued keys, as in Fluent Bit.</summary>
    public string? Get(string key) => Find(key)?.Value;

    public ConfigEntry? Find(string key)
    {
        ConfigEntry? found = null;
        foreach (var entry in Entries)
        {
            if (string.Equals(entry.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                found = entry;
            }
        }

        return found;
    }

    public IEnumerable<ConfigEntry> FindAll(string key)
    {
        foreach (var entry in Entries)
        {
            if (string.Equals(entry.Key, key, StringComparison.OrdinalIgnoreCase))
            {
                yield return entry;
            }
        }
    }

    public override string ToString() => $"[{Header}] {PluginName} ({Location})";
}

/// <summary>A whole loaded configuration: every section from the main file and its includes, in order.</summary>
public sealed class ConfigDocument
{
    public ConfigDocument(string mainFile, IReadOnlyList<ConfigSection> sections, IReadOnlyList<ConfigDiagnostic> diagnostics)
        : this(mainFile, sections, diagnostics, [mainFile])
    {
    }

    public ConfigDocument(
        string mainFile,
        IReadOnlyList<ConfigSection> sections,
        IReadOnlyList<ConfigDiagnostic> diagnostics,
        IReadOnlyList<string> loadedFiles)
    {
        MainFile = mainFile;
        Sections = sections;
        Diagnostics = diagnostics;
        LoadedFiles = loadedFiles;
    }

    public string MainFile { get; }

    /// <summary>
    /// Every file read to build this document, in read order: the main file, its <c>@INCLUDE</c>s and the
    /// <c>Parsers_File</c>s. Lets tools (hot reload, <c>--dry-run</c>) show or watch exactly what was used.
    /// </summary>
    public IReadOnlyList<string> LoadedFiles { get; }

    public IReadOnlyList<ConfigSection> Sections { get; }

    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; }

    public bool HasErrors
    {
        get
        {
            foreach (var d in Diagnostics)
            {
                if (d.Severity == DiagnosticSeverity.Error)
                {
                    return true;
                }
            }

            return false;
        }
    }

    public IEnumerable<ConfigSection> OfKind(SectionKind kind)
    {
        foreach (var s in Sections)
        {
            if (s.Kind == kind)
            {
                yield return s;
            }
        }
    }
}
