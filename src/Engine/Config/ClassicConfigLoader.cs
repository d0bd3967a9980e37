using System.Text;

namespace Gateway.Engine.Config;

/// <summary>
/// One load of a classic config tree. Mirrors the line rules of Fluent Bit's
/// <c>src/config_format/flb_cf_fluentbit.c</c> (<c>read_config</c>/<c>check_indent</c>), but where Fluent Bit stops
/// at the first problem this keeps going and records a diagnostic, so a user sees every problem in one run.
/// </summary>
/// <remarks>
/// Values keep their <c>${VAR}</c> text until every file is read, because Fluent Bit applies <c>@SET</c> and the
/// environment after the whole tree is loaded: a <c>@SET</c> at the end of a file still applies to earlier lines.
/// </remarks>
internal sealed class ClassicConfigLoader
{
    /// <summary>Same cap as Fluent Bit's FLB_CF_FILE_NUM_LIMIT; stops runaway glob includes.</summary>
    internal const int MaxFiles = 1000;

    private readonly IReadOnlyDictionary<string, string?> _environment;
    private readonly Dictionary<string, string> _setVariables = new(StringComparer.Ordinal);
    private readonly List<ConfigDiagnostic> _diagnostics = [];
    private readonly List<string> _loadedFiles = [];
    private readonly HashSet<string> _loadedFileSet = new(StringComparer.Ordinal);
    private readonly List<string> _includeStack = [];
    private string _mainDirectory = string.Empty;

    public ClassicConfigLoader(IReadOnlyDictionary<string, string?> environment)
    {
        _environment = environment;
    }

    public ConfigDocument LoadMainFile(string path)
    {
        var fullPath = TryGetFullPath(path) ?? path;
        var location = new ConfigLocation(fullPath, 0);
        _mainDirectory = DirectoryOf(fullPath);
        var text = TryReadFile(fullPath, location, "config file");
        if (text is null)
        {
            return new ConfigDocument(fullPath, [], _diagnostics.ToArray(), _loadedFiles.ToArray());
        }

        return Build(fullPath, text);
    }

    public ConfigDocument ParseMainText(string text, string fileName)
    {
        var fullPath = TryGetFullPath(fileName);
        _mainDirectory = fullPath is null ? Directory.GetCurrentDirectory() : DirectoryOf(fullPath);
        return Build(fileName, text);
    }

    private ConfigDocument Build(string mainFile, string text)
    {
        var rawSections = new List<RawSection>();
        _loadedFiles.Add(mainFile);
        _loadedFileSet.Add(TryGetFullPath(mainFile) ?? mainFile);
        _includeStack.Add(TryGetFullPath(mainFile) ?? mainFile);
        ReadText(mainFile, text, rawSections);
        _includeStack.Clear();

        LoadParsersFiles(rawSections);

        var sections = new List<ConfigSection>(rawSections.Count);
        foreach (var raw in rawSections)
        {
            var entries = new ConfigEntry[raw.Entries.Count];
            for (var i = 0; i < entries.Length; i++)
            {
                var entry = raw.Entries[i];
                entries[i] = new ConfigEntry(entry.Key, Substitute(entry.Value, entry.Location, report: true), entry.Location)
                {
                    NodeTemplate = UsesNodeVariable(entry.Value) ? Substitute(entry.Value, entry.Location, report: false, keepNodeVariables: true) : null,
                };
            }

            sections.Add(new ConfigSection(raw.Kind, raw.Header, raw.Location, entries));
        }

        return new ConfigDocument(mainFile, sections, _diagnostics.ToArray(), _loadedFiles.ToArray());
    }

    /// <summary>
    /// Loads every <c>Parsers_File</c> of <c>[SERVICE]</c>. Fluent Bit resolves relative names against the main
    /// config file's directory (<c>config->conf_path</c>), not the including file's.
    /// </summary>
    private void LoadParsersFiles(List<RawSection> sections)
    {
        var serviceSections = new List<RawSection>();
        foreach (var section in sections)
        {
            if (section.Kind == SectionKind.Service)
            {
                serviceSections.Add(section);
            }
        }

        foreach (var service in serviceSections)
        {
            foreach (var entry in service.Entries)
            {
                if (!string.Equals(entry.Key, "Parsers_File", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                var name = Substitute(entry.Value, entry.Location, report: false).Trim();
                if (name.Length == 0)
                {
                    AddError(entry.Location, "Parsers_File has an empty value");
                    continue;
                }

                var resolved = Path.IsPathRooted(name) ? name : Path.Combine(_mainDirectory, name);
                var parsersSections = new List<RawSection>();
                if (!IncludeFile(resolved, name, entry.Location, parsersSections, "parsers file"))
                {
                    continue;
                }

                foreach (var parsed in parsersSections)
                {
                    if (parsed.Kind is SectionKind.Parser or SectionKind.MultilineParser)
                    {
                        sections.Add(parsed);
                    }
                    else
                    {
                        AddWarning(parsed.Location, $"section [{parsed.Header}] in a parsers file is ignored; only [PARSER] and [MULTILINE_PARSER] are read there");
                    }
                }
            }
        }
    }

    private void ReadText(string file, string text, List<RawSection> sections)
    {
        // Per file, like Fluent Bit: the first indented line fixes the indentation every later line must use.
        string? indent = null;
        RawSection? current = null;
        var skippingBadSection = false;
        var lineNumber = 0;
        var position = 0;
        while (position <= text.Length)
        {
            var newline = text.IndexOf('\n', position);
            var end = newline < 0 ? text.Length : newline;
            var line = text.AsSpan(position, end - position);
            if (line.Length > 0 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            position = end + 1;
            lineNumber++;
            if (newline < 0 && line.Length == 0)
            {
                break;
            }

            var location = new ConfigLocation(file, lineNumber);
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (line.Length > 9 && line[..9].Equals("@INCLUDE ", StringComparison.OrdinalIgnoreCase))
            {
                HandleInclude(file, line[9..].Trim().ToString(), location, sections);
                continue;
            }

            if (line[0] == '@')
            {
                HandleDirective(line, location);
                continue;
            }

            if (line[0] == '[')
            {
                var close = line.IndexOf(']');
                if (close <= 0)
                {
                    AddError(location, $"bad section header '{line}': missing ']'");
                    current = null;
                    skippingBadSection = true;
                    continue;
                }

                if (current is not null && current.Entries.Count == 0)
                {
                    AddWarning(current.Location, $"section [{current.Header}] has no entries");
                }

                var header = line[1..close].Trim().ToString();
                if (header.Length == 0)
                {
                    AddError(location, "empty section header '[]'");
                    current = null;
                    skippingBadSection = true;
                    continue;
                }

                current = new RawSection(KindOf(header), header, location);
                sections.Add(current);
                skippingBadSection = false;
                continue;
            }

            // Fluent Bit turns a whitespace-only line into a parse error or even into the file's indentation
            // (a quirk of read_config); such lines are invisible in editors, so they are treated as blank here.
            if (line.IsWhiteSpace())
            {
                continue;
            }

            var leading = CountLeadingBlanks(line);
            if (leading == 0)
            {
                AddError(location, $"'{Shorten(line)}' must be indented: entries of a section start with spaces or tabs");
                continue;
            }

            indent ??= line[..leading].ToString();
            var level = CheckIndent(line, indent, out var indentError);
            if (indentError is not null)
            {
                AddError(location, indentError);
                continue;
            }

            var content = line[level..];
            if (content[0] == '#')
            {
                continue;
            }

            if (content[0] == '[')
            {
                AddError(location, $"nested group '{Shorten(content)}' is not supported in the classic format reader");
                continue;
            }

            // Fluent Bit splits key and value at the first space only (a tab does not separate them).
            var space = content.IndexOf(' ');
            if (space < 0)
            {
                AddError(location, $"key '{content.Trim()}' has no value (key and value are separated by a space)");
                continue;
            }

            var key = content[..space].Trim().ToString();
            var value = content[(space + 1)..].Trim().ToString();
            if (value.Length == 0)
            {
                AddError(location, $"key '{key}' has an empty value");
                continue;
            }

            if (current is null)
            {
                if (!skippingBadSection)
                {
                    AddError(location, $"entry '{key}' is outside of any [SECTION]");
                }

                continue;
            }

            current.Entries.Add(new RawEntry(key, value, location));
        }

        if (current is not null && current.Entries.Count == 0)
        {
            AddWarning(current.Location, $"section [{current.Header}] has no entries");
        }
    }

    /// <summary>
    /// Fluent Bit's <c>check_indent</c>: a line must start with the file's indentation exactly; one extra level of
    /// the same width is accepted (group content); anything else is an error.
    /// </summary>
    private static int CheckIndent(ReadOnlySpan<char> line, string indent, out string? error)
    {
        var matched = 0;
        while (matched < indent.Length && matched < line.Length && line[matched] == indent[matched])
        {
            matched++;
        }

        if (matched < indent.Length)
        {
            error = matched < line.Length && IsBlank(line[matched])
                ? "invalid indentation: inconsistent use of tab and space"
                : "invalid indentation: level is lower than the first indented line of this file";
            return 0;
        }

        var extra = 0;
        while (matched + extra < line.Length && IsBlank(line[matched + extra]))
        {
            extra++;
        }

        if (extra == 0)
        {
            error = null;
            return matched;
        }

        if (extra == indent.Length)
        {
            error = null;
            return matched + extra;
        }

        error = "invalid indentation: extra indentation level found (lines must use the same indentation as the first indented line of this file)";
        return 0;
    }

    private void HandleDirective(ReadOnlySpan<char> line, ConfigLocation location)
    {
        var space = line.IndexOfAny(' ', '\t');
        var name = space < 0 ? line : line[..space];
        var argument = space < 0 ? ReadOnlySpan<char>.Empty : line[(space + 1)..].Trim();
        if (name.Equals("@SET", StringComparison.OrdinalIgnoreCase))
        {
            var equals = argument.IndexOf('=');
            if (equals <= 0)
            {
                AddError(location, $"@SET needs 'key=value', got '{argument}'");
                return;
            }

            var key = argument[..equals].Trim().ToString();
            var value = argument[(equals + 1)..].Trim().ToString();
            if (key.Length == 0)
            {
                AddError(location, "@SET has an empty variable name");
                return;
            }

            _setVariables[key] = value;
            return;
        }

        if (name.Equals("@INCLUDE", StringComparison.OrdinalIgnoreCase))
        {
            AddError(location, "@INCLUDE needs a file name");
            return;
        }

        AddWarning(location, $"unknown directive '{name}' is ignored (only @INCLUDE and @SET exist)");
    }

    private void HandleInclude(string includingFile, string pattern, ConfigLocation location, List<RawSection> sections)
    {
        if (pattern.Length == 0)
        {
            AddError(location, "@INCLUDE needs a file name");
            return;
        }

        var includingDirectory = TryGetFullPath(includingFile) is { } full ? DirectoryOf(full) : _mainDirectory;

        // Like Fluent Bit, only '*' switches to glob mode; '?' and '[' are literal file name characters otherwise.
        if (pattern.Contains('*', StringComparison.Ordinal))
        {
            var matches = ConfigGlob.Expand(Path.IsPathRooted(pattern) ? pattern : Path.Combine(includingDirectory, pattern));
            if (matches.Count == 0 && !Path.IsPathRooted(pattern) && !PathsEqual(includingDirectory, _mainDirectory))
            {
                matches = ConfigGlob.Expand(Path.Combine(_mainDirectory, pattern));
            }

            if (matches.Count == 0)
            {
                AddError(location, $"@INCLUDE '{pattern}' matches no file (looked in {includingDirectory})");
                return;
            }

            foreach (var match in matches)
            {
                IncludeFile(match, pattern, location, sections, "include file");
            }

            return;
        }

        var resolved = Path.IsPathRooted(pattern) ? pattern : Path.Combine(includingDirectory, pattern);

        // Fluent Bit resolves relative includes against the main file's directory; accept that too so configs
        // written for Fluent Bit keep working when an included file includes another one.
        if (!File.Exists(resolved) && !Path.IsPathRooted(pattern) && !PathsEqual(includingDirectory, _mainDirectory))
        {
            var fromMain = Path.Combine(_mainDirectory, pattern);
            if (File.Exists(fromMain))
            {
                resolved = fromMain;
            }
        }

        IncludeFile(resolved, pattern, location, sections, "include file");
    }

    /// <summary>Reads one included file into <paramref name="sections"/>; false when it could not be read.</summary>
    private bool IncludeFile(string path, string asWritten, ConfigLocation location, List<RawSection> sections, string what)
    {
        var fullPath = TryGetFullPath(path);
        if (fullPath is null)
        {
            AddError(location, $"{what} '{asWritten}' is not a valid path");
            return false;
        }

        var cycleStart = _includeStack.IndexOf(fullPath);
        if (cycleStart >= 0)
        {
            var chain = new StringBuilder();
            for (var i = cycleStart; i < _includeStack.Count; i++)
            {
                chain.Append(Path.GetFileName(_includeStack[i])).Append(" -> ");
            }

            chain.Append(Path.GetFileName(fullPath));
            AddError(location, $"include cycle: {chain}");
            return false;
        }

        if (_loadedFileSet.Contains(fullPath))
        {
            AddError(location, $"{what} '{fullPath}' is already included (Fluent Bit refuses to read a file twice)");
            return false;
        }

        if (_loadedFiles.Count >= MaxFiles)
        {
            AddError(location, $"too many config files (limit {MaxFiles})");
            return false;
        }

        var text = TryReadFile(fullPath, location, what, asWritten);
        if (text is null)
        {
            return false;
        }

        _loadedFiles.Add(fullPath);
        _loadedFileSet.Add(fullPath);
        _includeStack.Add(fullPath);
        ReadText(fullPath, text, sections);
        _includeStack.RemoveAt(_includeStack.Count - 1);
        return true;
    }

    private string? TryReadFile(string fullPath, ConfigLocation location, string what, string? asWritten = null)
    {
        var shown = asWritten is null || asWritten == fullPath ? $"'{fullPath}'" : $"'{asWritten}' ({fullPath})";
        try
        {
            if (Directory.Exists(fullPath))
            {
                AddError(location, $"{what} {shown} is a directory");
                return null;
            }

            return File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            AddError(location, $"{what} {shown} not found");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            AddError(location, $"{what} {shown} cannot be read: {ex.Message}");
        }

        return null;
    }

    /// <summary>
    /// <c>${NAME}</c> substitution as Fluent Bit's <c>flb_env_var_translate</c>: <c>@SET</c> variables first, then
    /// the environment; an unknown name becomes an empty string. A <c>${</c> without <c>}</c> stays literal.
    /// </summary>
    /// <summary>Variables that name the node the events come from; see <see cref="ConfigEntry.NodeTemplate"/>.</summary>
    internal static readonly string[] NodeVariables = ["HOST_NAME", "NODE_NAME", "HOST_NODE_NAME", "HOSTNAME"];

    private static bool UsesNodeVariable(string value)
    {
        if (!value.Contains("${", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var name in NodeVariables)
        {
            if (value.Contains("${" + name + "}", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private string Substitute(string value, ConfigLocation location, bool report, bool keepNodeVariables = false)
    {
        var start = value.IndexOf("${", StringComparison.Ordinal);
        if (start < 0)
        {
            return value;
        }

        var result = new StringBuilder(value.Length);
        var position = 0;
        while (start >= 0)
        {
            var close = value.IndexOf('}', start + 2);
            if (close < 0 || close == start + 2)
            {
                break;
            }

            result.Append(value, position, start - position);
            var name = value.Substring(start + 2, close - start - 2);
            if (keepNodeVariables && !_setVariables.ContainsKey(name) && Array.IndexOf(NodeVariables, name) >= 0)
            {
                result.Append(value, start, close - start + 1);
            }
            else if (_setVariables.TryGetValue(name, out var setValue))
            {
                result.Append(setValue);
            }
            else if (_environment.TryGetValue(name, out var envValue) && envValue is not null)
            {
                result.Append(envValue);
            }
            else if (report)
            {
                AddWarning(location, $"variable ${{{name}}} is used but not set; substituted an empty string (as Fluent Bit does)");
            }

            position = close + 1;
            start = value.IndexOf("${", position, StringComparison.Ordinal);
        }

        result.Append(value, position, value.Length - position);
        return result.ToString();
    }

    internal static SectionKind KindOf(string header) => header.ToUpperInvariant() switch
    {
        "SERVICE" => SectionKind.Service,
        "INPUT" => SectionKind.Input,
        "FILTER" => SectionKind.Filter,
        "OUTPUT" => SectionKind.Output,
        "PARSER" => SectionKind.Parser,
        "MULTILINE_PARSER" => SectionKind.MultilineParser,
        "UPSTREAM" => SectionKind.Upstream,
        "NODE" => SectionKind.Node,
        _ => SectionKind.Other,
    };

    private static int CountLeadingBlanks(ReadOnlySpan<char> line)
    {
        var count = 0;
        while (count < line.Length && IsBlank(line[count]))
        {
            count++;
        }

        return count;
    }

    private static bool IsBlank(char c) => c is ' ' or '\t';

    private static string Shorten(ReadOnlySpan<char> text) =>
        text.Length <= 60 ? text.Trim().ToString() : string.Concat(text[..57].Trim(), "...");

    private static string? TryGetFullPath(string path)
    {
        try
        {
            return path.Length == 0 ? null : Path.GetFullPath(path);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return null;
        }
    }

    private static string DirectoryOf(string fullPath) => Path.GetDirectoryName(fullPath) ?? fullPath;

    private static bool PathsEqual(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), StringComparison.Ordinal);

    private void AddError(ConfigLocation location, string message) =>
        _diagnostics.Add(new ConfigDiagnostic(location, DiagnosticSeverity.Error, message));

    private void AddWarning(ConfigLocation location, string message) =>
        _diagnostics.Add(new ConfigDiagnostic(location, DiagnosticSeverity.Warning, message));

    private sealed class RawSection(SectionKind kind, string header, ConfigLocation location)
    {
        public SectionKind Kind { get; } = kind;

        public string Header { get; } = header;

        public ConfigLocation Location { get; } = location;

        public List<RawEntry> Entries { get; } = [];
    }

    private readonly record struct RawEntry(string Key, string Value, ConfigLocation Location);
}
