using Gateway.Engine.Parsers;

namespace Gateway.Engine.Config;

/// <summary>
/// Checks a loaded <see cref="ConfigDocument"/> against what Fluent Bit would accept and what Gateway implements:
/// unknown plugins and option keys (with "did you mean"), missing <c>Name</c>, broken <c>[PARSER]</c>s and regexes
/// .NET cannot compile. Returns the document's load diagnostics followed by the validation diagnostics, so one list
/// holds everything a user has to fix.
/// </summary>
public static class ConfigValidator
{
    private static readonly string[] ServiceKeys =
    [
        "Flush", "Grace", "Daemon", "Dns.Mode", "Dns.Resolver", "Dns.Prefer_IPv4", "Dns.Prefer_IPv6", "Log_File",
        "Log_Level", "Parsers_File", "Plugins_File", "Streams_File", "HTTP_Server", "HTTP_Listen", "HTTP_Port",
        "Health_Check", "HC_Errors_Count", "HC_Retry_Failure_Count", "HC_Period", "Coro_Stack_Size", "storage.*",
        "scheduler.*", "json.*", "Hot_Reload", "Hot_Reload.Ensure_Thread_Safety", "Enable_Chunk_Trace", "Sp.*",
        "Windows.maxstdio", "Multiline_Buffer_Limit",
    ];

    private static readonly string[] ParserKeys =
    [
        "Name", "Format", "Regex", "Time_Key", "Time_Format", "Time_Format_Fallback", "Time_Offset", "Time_Keep",
        "Time_Strict", "Time_System_Timezone", "Types", "Decode_Field", "Decode_Field_As", "Skip_Empty_Values",
        "Logfmt_No_Bare_Keys",
    ];

    private static readonly string[] MultilineParserKeys =
        ["Name", "Type", "Parser", "Key_Content", "Key_Pattern", "Key_Group", "Flush_Timeout", "Rule"];

    private static readonly string[] UpstreamKeys = ["Name"];

    private static readonly string[] NodeKeys =
        ["Name", "Host", "Port", "Shared_Key", "Self_Hostname", "Username", "Password", "tls", "tls.*", "net.*", "Hash_Table_Size"];

    private static readonly string[] ParserFormats = ["json", "regex", "logfmt", "ltsv"];

    /// <summary>The conversions <see cref="Strptime"/> implements (flb_strptime's set plus %L).</summary>
    private const string TimeConversions = "%ABCDFGHIMLRSTUVWXYZabcdeghjklmnprstuwxyz";

    private static readonly string[] LogLevels = ["off", "error", "warn", "warning", "info", "debug", "trace"];

    public static IReadOnlyList<ConfigDiagnostic> Validate(ConfigDocument doc, bool dryRun) =>
        Validate(doc, dryRun, PluginCatalog.Default);

    /// <param name="doc">The loaded document.</param>
    /// <param name="dryRun">
    /// True under <c>--dry-run</c>: plugins that exist in Fluent Bit but not yet in Gateway are reported as
    /// "not supported yet" warnings. A normal start leaves that to the pipeline builder.
    /// </param>
    /// <param name="catalog">Plugin statuses and option keys.</param>
    public static IReadOnlyList<ConfigDiagnostic> Validate(ConfigDocument doc, bool dryRun, PluginCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(doc);
        ArgumentNullException.ThrowIfNull(catalog);
        var diagnostics = new List<ConfigDiagnostic>(doc.Diagnostics);
        var parserNames = new Dictionary<string, ConfigLocation>(StringComparer.OrdinalIgnoreCase);
        var references = new ParserReferences(doc);
        foreach (var section in doc.Sections)
        {
            switch (section.Kind)
            {
                case SectionKind.Service:
                    ValidateService(section, diagnostics);
                    break;
                case SectionKind.Input:
                    ValidatePlugin(section, PluginKind.Input, dryRun, catalog, diagnostics);
                    references.Check(section, diagnostics);
                    break;
                case SectionKind.Filter:
                    ValidatePlugin(section, PluginKind.Filter, dryRun, catalog, diagnostics);
                    references.Check(section, diagnostics);
                    break;
                case SectionKind.Output:
                    ValidatePlugin(section, PluginKind.Output, dryRun, catalog, diagnostics);
                    break;
                case SectionKind.Parser:
                    ValidateParser(section, parserNames, diagnostics);
                    break;
                case SectionKind.MultilineParser:
                    ValidateMultilineParser(section, diagnostics);
                    break;
                case SectionKind.Upstream:
                    CheckKeys(section, UpstreamKeys, "[UPSTREAM]", DiagnosticSeverity.Error, diagnostics);
                    RequireName(section, diagnostics);
                    break;
                case SectionKind.Node:
                    CheckKeys(section, NodeKeys, "[NODE]", DiagnosticSeverity.Error, diagnostics);
                    RequireName(section, diagnostics);
                    break;
                default:
                    diagnostics.Add(Warning(section.Location, $"unknown section [{section.Header}] is ignored"));
                    break;
            }
        }

        return diagnostics;
    }

    /// <summary>
    /// Checks that options naming a parser (<c>Parser</c>, <c>Docker_Mode_Parser</c>, <c>multiline.parser</c>, ...)
    /// name one that exists: Fluent Bit refuses to start an input or filter whose parser is not registered.
    /// </summary>
    private sealed class ParserReferences
    {
        /// <summary>Multiline parsers Fluent Bit has built in.</summary>
        private static readonly string[] BuiltInMultilineParsers = ["docker", "cri", "go", "python", "java", "ruby"];

        private static readonly string[] ParserKeys =
            ["Parser", "Parser_Firstline", "Docker_Mode_Parser", "Regex_Parser", "Merge_Parser"];

        private readonly HashSet<string> _parsers = new(StringComparer.Ordinal);
        private readonly HashSet<string> _multilineParsers = new(BuiltInMultilineParsers, StringComparer.Ordinal);

        public ParserReferences(ConfigDocument doc)
        {
            foreach (var section in doc.Sections)
            {
                var name = section.Get("Name");
                if (string.IsNullOrEmpty(name))
                {
                    continue;
                }

                if (section.Kind == SectionKind.Parser)
                {
                    _parsers.Add(name);
                }
                else if (section.Kind == SectionKind.MultilineParser)
                {
                    _multilineParsers.Add(name);
                }
            }
        }

        public void Check(ConfigSection section, List<ConfigDiagnostic> diagnostics)
        {
            foreach (var entry in section.Entries)
            {
                if (entry.Key.Equals("multiline.parser", StringComparison.OrdinalIgnoreCase))
                {
                    foreach (var name in entry.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                    {
                        if (!_multilineParsers.Contains(name))
                        {
                            diagnostics.Add(Error(entry.Location, $"multiline parser '{name}' is not defined (built in: {string.Join(", ", BuiltInMultilineParsers)}; others need a [MULTILINE_PARSER] in a Parsers_File)"));
                        }
                    }
                }
                else if (IsParserKey(entry.Key) && !_parsers.Contains(entry.Value))
                {
                    diagnostics.Add(Error(entry.Location, $"{entry.Key}: parser '{entry.Value}' is not defined in any Parsers_File"));
                }
            }
        }

        private static bool IsParserKey(string key)
        {
            foreach (var known in ParserKeys)
            {
                if (known.Equals(key, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            // tail's numbered Parser_1, Parser_2, ... (used with Parser_Firstline).
            return key.Length > 7 && key.StartsWith("Parser_", StringComparison.OrdinalIgnoreCase) && char.IsAsciiDigit(key[7]);
        }
    }

    private static void ValidateService(ConfigSection section, List<ConfigDiagnostic> diagnostics)
    {
        // Fluent Bit ignores unknown [SERVICE] keys, so a typo there is a warning rather than an error.
        CheckKeys(section, ServiceKeys, "[SERVICE]", DiagnosticSeverity.Warning, diagnostics);
        foreach (var entry in section.Entries)
        {
            ConfigDiagnostic? diagnostic = null;
            switch (entry.Key.ToUpperInvariant())
            {
                case "FLUSH":
                    ConfigValues.TryParseDuration(entry, out _, out diagnostic);
                    break;
                case "GRACE" or "HTTP_PORT":
                    ConfigValues.TryParseInteger(entry, out _, out diagnostic);
                    break;
                case "DAEMON" or "HTTP_SERVER" or "HEALTH_CHECK" or "HOT_RELOAD" or "STORAGE.CHECKSUM" or "STORAGE.METRICS":
                    ConfigValues.TryParseBool(entry, out _, out diagnostic);
                    break;
                case "STORAGE.BACKLOG.MEM_LIMIT":
                    ConfigValues.TryParseSize(entry, out _, out diagnostic);
                    break;
                case "LOG_LEVEL":
                    diagnostic = CheckLogLevel(entry);
                    break;
            }

            if (diagnostic is not null)
            {
                diagnostics.Add(diagnostic);
            }
        }
    }

    private static void ValidatePlugin(ConfigSection section, PluginKind kind, bool dryRun, PluginCatalog catalog, List<ConfigDiagnostic> diagnostics)
    {
        var kindName = kind.ToString().ToLowerInvariant();
        var nameEntry = section.Find("Name");
        if (nameEntry is null || nameEntry.Value.Length == 0)
        {
            diagnostics.Add(Error(section.Location, $"[{section.Header}] has no Name: every {kindName} needs 'Name <plugin>'"));
            return;
        }

        var name = nameEntry.Value;
        switch (catalog.GetStatus(kind, name))
        {
            case PluginStatus.Unknown:
                var suggestion = Suggest(name, catalog.NamesOf(kind));
                diagnostics.Add(Error(nameEntry.Location,
                    $"unknown {kindName} plugin '{name}'" + (suggestion is null ? string.Empty : $"; did you mean '{suggestion}'?")));
                return;
            case PluginStatus.Planned when dryRun:
                diagnostics.Add(Warning(nameEntry.Location, $"{kindName} plugin '{name}' is not supported yet"));
                break;
        }

        if ((kind is PluginKind.Filter or PluginKind.Output) && section.Find("Match") is null && section.Find("Match_Regex") is null)
        {
            diagnostics.Add(Warning(section.Location, $"{kindName} '{name}' has no Match or Match_Regex, so it receives no records"));
        }

        var definition = catalog.Find(kind, name);
        if (definition is null || !definition.ChecksKeys)
        {
            return;
        }

        foreach (var entry in section.Entries)
        {
            if (!PluginCatalog.AcceptsKey(definition, entry.Key))
            {
                if (definition.KeyHints.TryGetValue(entry.Key, out var hint))
                {
                    diagnostics.Add(Error(entry.Location, $"unknown option '{entry.Key}' for {kindName} plugin '{name}': {hint}"));
                    continue;
                }

                var keys = new List<string>(PluginCatalog.CommonKeysOf(kind));
                keys.AddRange(definition.OptionKeys);
                diagnostics.Add(Error(entry.Location, UnknownKeyMessage(entry, keys, $"{kindName} plugin '{name}'")));
                continue;
            }

            var diagnostic = CheckCommonValue(entry);
            if (diagnostic is not null)
            {
                diagnostics.Add(diagnostic);
            }
        }
    }

    private static ConfigDiagnostic? CheckCommonValue(ConfigEntry entry)
    {
        ConfigDiagnostic? diagnostic = null;
        switch (entry.Key.ToUpperInvariant())
        {
            case "RETRY_LIMIT":
                // Fluent Bit also accepts these words for "retry forever" / "never retry".
                if (entry.Value.Equals("no_limits", StringComparison.OrdinalIgnoreCase)
                    || entry.Value.Equals("false", StringComparison.OrdinalIgnoreCase)
                    || entry.Value.Equals("no_retries", StringComparison.OrdinalIgnoreCase))
                {
                    return null;
                }

                ConfigValues.TryParseInteger(entry, out _, out diagnostic);
                break;
            case "WORKERS":
                ConfigValues.TryParseInteger(entry, out _, out diagnostic);
                break;
            case "MEM_BUF_LIMIT" or "BUFFER_CHUNK_SIZE" or "BUFFER_MAX_SIZE" or "STORAGE.TOTAL_LIMIT_SIZE":
                ConfigValues.TryParseSize(entry, out _, out diagnostic);
                break;
            case "THREADED" or "STORAGE.PAUSE_ON_CHUNKS_OVERLIMIT":
                ConfigValues.TryParseBool(entry, out _, out diagnostic);
                break;
            case "LOG_LEVEL":
                diagnostic = CheckLogLevel(entry);
                break;
        }

        return diagnostic;
    }

    private static void ValidateParser(ConfigSection section, Dictionary<string, ConfigLocation> parserNames, List<ConfigDiagnostic> diagnostics)
    {
        CheckKeys(section, ParserKeys, "[PARSER]", DiagnosticSeverity.Error, diagnostics);
        var name = section.Get("Name");
        if (string.IsNullOrEmpty(name))
        {
            diagnostics.Add(Error(section.Location, "[PARSER] has no Name"));
        }
        else if (parserNames.TryGetValue(name, out var first))
        {
            diagnostics.Add(Warning(section.Location, $"parser '{name}' is already defined at {first}; this definition is ignored"));
        }
        else
        {
            parserNames[name] = section.Location;
        }

        var format = section.Find("Format");
        if (format is null)
        {
            diagnostics.Add(Error(section.Location, $"[PARSER] '{name}' has no Format (one of json, regex, logfmt, ltsv)"));
        }
        else if (Array.FindIndex(ParserFormats, f => f.Equals(format.Value, StringComparison.OrdinalIgnoreCase)) < 0)
        {
            diagnostics.Add(Error(format.Location, $"parser '{name}': unknown Format '{format.Value}' (one of json, regex, logfmt, ltsv)"));
        }
        else if (format.Value.Equals("regex", StringComparison.OrdinalIgnoreCase))
        {
            var regex = section.Find("Regex");
            if (regex is null)
            {
                diagnostics.Add(Error(section.Location, $"parser '{name}' has Format regex but no Regex"));
            }
            else
            {
                var hints = OnigmoRegex.FindSuspiciousConstructs(regex.Value);
                if (!OnigmoRegex.TryCompile(regex.Value, out _, out var error))
                {
                    var hintText = hints.Count == 0 ? string.Empty : "; " + string.Join("; ", hints);
                    diagnostics.Add(Error(regex.Location, $"parser '{name}': invalid Regex: {error}{hintText}"));
                }
                else
                {
                    foreach (var hint in hints)
                    {
                        diagnostics.Add(Warning(regex.Location, $"parser '{name}': suspicious Regex: {hint}"));
                    }
                }
            }
        }

        foreach (var entry in section.Entries)
        {
            ConfigDiagnostic? diagnostic = null;
            switch (entry.Key.ToUpperInvariant())
            {
                case "TIME_KEEP" or "TIME_STRICT" or "TIME_SYSTEM_TIMEZONE" or "SKIP_EMPTY_VALUES":
                    ConfigValues.TryParseBool(entry, out _, out diagnostic);
                    break;
                case "TYPES":
                    diagnostic = CheckTypes(entry);
                    break;
                case "DECODE_FIELD" or "DECODE_FIELD_AS":
                    diagnostic = CheckDecoder(entry);
                    break;
                case "TIME_OFFSET":
                    diagnostic = CheckTimeOffset(entry);
                    break;
                case "TIME_FORMAT":
                    diagnostic = CheckTimeFormat(entry);
                    break;
            }

            if (diagnostic is not null)
            {
                diagnostics.Add(diagnostic);
            }
        }
    }

    private static void ValidateMultilineParser(ConfigSection section, List<ConfigDiagnostic> diagnostics)
    {
        CheckKeys(section, MultilineParserKeys, "[MULTILINE_PARSER]", DiagnosticSeverity.Error, diagnostics);
        var name = section.Get("Name");
        if (string.IsNullOrEmpty(name))
        {
            diagnostics.Add(Error(section.Location, "[MULTILINE_PARSER] has no Name"));
        }

        var type = section.Get("Type");
        if (type is null)
        {
            diagnostics.Add(Error(section.Location, $"[MULTILINE_PARSER] '{name}' has no Type"));
        }

        var rules = 0;
        foreach (var rule in section.FindAll("Rule"))
        {
            rules++;
            var parts = SplitQuoted(rule.Value);
            if (parts.Count < 3)
            {
                diagnostics.Add(Error(rule.Location, $"multiline parser '{name}': rule needs \"state\" \"/regex/\" \"next_state\", got '{rule.Value}'"));
                continue;
            }

            if (!OnigmoRegex.TryCompile(parts[1], out _, out var error))
            {
                diagnostics.Add(Error(rule.Location, $"multiline parser '{name}': invalid rule regex: {error}"));
            }
        }

        if (rules == 0 && string.Equals(type, "regex", StringComparison.OrdinalIgnoreCase))
        {
            diagnostics.Add(Error(section.Location, $"multiline parser '{name}' of type regex has no rule lines"));
        }
    }

    /// <summary>Splits <c>"a" "b c" "d"</c> (double or single quotes, backslash escapes) into its strings.</summary>
    internal static List<string> SplitQuoted(string value)
    {
        var parts = new List<string>();
        var i = 0;
        while (i < value.Length)
        {
            while (i < value.Length && char.IsWhiteSpace(value[i]))
            {
                i++;
            }

            if (i >= value.Length)
            {
                break;
            }

            var quote = value[i];
            if (quote is '"' or '\'')
            {
                var builder = new System.Text.StringBuilder();
                i++;
                while (i < value.Length && value[i] != quote)
                {
                    if (value[i] == '\\' && i + 1 < value.Length && value[i + 1] == quote)
                    {
                        i++;
                    }

                    builder.Append(value[i]);
                    i++;
                }

                i++;
                parts.Add(builder.ToString());
            }
            else
            {
                var start = i;
                while (i < value.Length && !char.IsWhiteSpace(value[i]))
                {
                    i++;
                }

                parts.Add(value[start..i]);
            }
        }

        return parts;
    }

    private static ConfigDiagnostic? CheckTypes(ConfigEntry entry)
    {
        foreach (var pair in entry.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var colon = pair.IndexOf(':');
            var type = colon > 0 ? pair[(colon + 1)..] : string.Empty;
            if (type is not ("integer" or "float" or "bool" or "string" or "hex"))
            {
                return Error(entry.Location, $"Types: '{pair}' must be key:type with type integer, float, bool, string or hex");
            }
        }

        return null;
    }

    private static ConfigDiagnostic? CheckDecoder(ConfigEntry entry)
    {
        var parts = entry.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2 || parts[0].ToLowerInvariant() is not ("json" or "escaped" or "escaped_utf8" or "mysql_quoted"))
        {
            return Error(entry.Location, $"{entry.Key}: '{entry.Value}' must be '<json|escaped|escaped_utf8|mysql_quoted> <field> [try_next|do_next]'");
        }

        return null;
    }

    private static ConfigDiagnostic? CheckTimeOffset(ConfigEntry entry) =>
        ParserDefinition.TryParseOffset(entry.Value, out _)
            ? null
            : Error(entry.Location, $"Time_Offset: '{entry.Value}' must look like +0900 or -07:00");

    /// <summary>Every <c>%x</c> of a Time_Format must be a conversion flb_strptime knows, or no time will ever parse.</summary>
    private static ConfigDiagnostic? CheckTimeFormat(ConfigEntry entry)
    {
        var format = entry.Value;
        for (var i = 0; i < format.Length; i++)
        {
            if (format[i] != '%')
            {
                continue;
            }

            i++;
            if (i < format.Length && format[i] is 'E' or 'O')
            {
                i++;
            }

            if (i >= format.Length || !TimeConversions.Contains(format[i]))
            {
                var shown = i < format.Length ? $"%{format[i]}" : "a trailing %";
                return Error(entry.Location, $"Time_Format: {shown} is not a strptime conversion (supported: %{string.Join(" %", TimeConversions.ToCharArray())})");
            }
        }

        return null;
    }

    private static ConfigDiagnostic? CheckLogLevel(ConfigEntry entry)
    {
        foreach (var level in LogLevels)
        {
            if (level.Equals(entry.Value, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
        }

        return Error(entry.Location, $"{entry.Key}: '{entry.Value}' is not a log level (off, error, warn, info, debug, trace)");
    }

    private static void RequireName(ConfigSection section, List<ConfigDiagnostic> diagnostics)
    {
        if (string.IsNullOrEmpty(section.Get("Name")))
        {
            diagnostics.Add(Error(section.Location, $"[{section.Header}] has no Name"));
        }
    }

    private static void CheckKeys(ConfigSection section, IReadOnlyList<string> known, string what, DiagnosticSeverity severity, List<ConfigDiagnostic> diagnostics)
    {
        foreach (var entry in section.Entries)
        {
            if (!PluginCatalog.KeyListContains(known, entry.Key))
            {
                diagnostics.Add(new ConfigDiagnostic(entry.Location, severity, UnknownKeyMessage(entry, known, what)));
            }
        }
    }

    private static string UnknownKeyMessage(ConfigEntry entry, IReadOnlyList<string> known, string owner)
    {
        var message = $"unknown option '{entry.Key}' for {owner}";

        // "Retry _Limit 5" reads as key "Retry" with value "_Limit 5": spot a key split by a stray space.
        var firstValueToken = entry.Value.Split(' ', 2)[0];
        var joined = entry.Key + firstValueToken;
        foreach (var key in known)
        {
            if (!key.EndsWith('*') && key.Equals(joined, StringComparison.OrdinalIgnoreCase))
            {
                return $"{message}; did you mean '{key}'? (the line '{entry.Key} {firstValueToken}' has a space inside the key)";
            }
        }

        var suggestion = Suggest(entry.Key, known);
        return suggestion is null ? message : $"{message}; did you mean '{suggestion}'?";
    }

    /// <summary>The closest known name by edit distance, or one that starts with the typed name; null if none is close.</summary>
    internal static string? Suggest(string typed, IReadOnlyList<string> known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        var limit = Math.Max(2, typed.Length / 3);
        foreach (var candidate in known)
        {
            if (candidate.EndsWith('*'))
            {
                continue;
            }

            var distance = EditDistance(typed.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = candidate;
            }
        }

        if (best is not null && bestDistance <= limit)
        {
            return best;
        }

        if (typed.Length >= 3)
        {
            foreach (var candidate in known)
            {
                if (!candidate.EndsWith('*') && candidate.StartsWith(typed, StringComparison.OrdinalIgnoreCase))
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static ConfigDiagnostic Error(ConfigLocation location, string message) => new(location, DiagnosticSeverity.Error, message);

    private static ConfigDiagnostic Warning(ConfigLocation location, string message) => new(location, DiagnosticSeverity.Warning, message);
}
