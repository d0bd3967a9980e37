using Gateway.Engine.Config;

namespace Gateway.Engine.Parsers;

public enum ParserFormat
{
    Json,
    Regex,
    Logfmt,
    Ltsv,
}

/// <summary>The value types of a parser's <c>Types</c> option (Fluent Bit's flb_parser_typecast).</summary>
public enum ParserFieldType
{
    String,
    Integer,
    Float,
    Bool,
    Hex,
}

public enum DecoderBackend
{
    Json,
    Escaped,
    EscapedUtf8,
}

/// <summary>What to do after a decoder rule (the optional third word of <c>Decode_Field(_As)</c>).</summary>
public enum DecoderAction
{
    None,
    TryNext,
    DoNext,
}

/// <summary>
/// One <c>Decode_Field</c> (<see cref="ReplaceValue"/> false: a decoded map's keys are appended to the record) or
/// <c>Decode_Field_As</c> (<see cref="ReplaceValue"/> true: the value is replaced in place) line.
/// </summary>
public sealed record DecoderRule(string Field, DecoderBackend Backend, bool ReplaceValue, DecoderAction Action);

/// <summary>A <c>[PARSER]</c> section read into typed settings, with Fluent Bit's defaults.</summary>
public sealed class ParserDefinition
{
    public required string Name { get; init; }

    public required ParserFormat Format { get; init; }

    public string? Regex { get; init; }

    /// <summary>The record key holding the time; Fluent Bit's default is <c>time</c>.</summary>
    public string TimeKey { get; init; } = "time";

    /// <summary>strptime format; without it the record time is left to the caller ("now").</summary>
    public string? TimeFormat { get; init; }

    /// <summary>Keep the time key in the record after reading the time (default off).</summary>
    public bool TimeKeep { get; init; }

    /// <summary>Reject times that do not match the whole format (default on).</summary>
    public bool TimeStrict { get; init; } = true;

    /// <summary>Fixed UTC offset in seconds for formats without a zone (<c>Time_Offset +0900</c>).</summary>
    public int TimeOffsetSeconds { get; init; }

    /// <summary>Interpret zone-less times in the host's time zone instead of UTC.</summary>
    public bool TimeSystemTimezone { get; init; }

    /// <summary>Regex format: drop empty captures (Skip_Empty_Values, default on).</summary>
    public bool SkipEmptyValues { get; init; } = true;

    /// <summary>Logfmt: give up on a line that has a key without <c>=value</c> (Logfmt_No_Bare_Keys).</summary>
    public bool LogfmtNoBareKeys { get; init; }

    public IReadOnlyList<KeyValuePair<string, ParserFieldType>> Types { get; init; } = [];

    public IReadOnlyList<DecoderRule> Decoders { get; init; } = [];

    public ConfigLocation Location { get; init; }

    /// <summary>
    /// Reads a <c>[PARSER]</c> section. Returns null, with an error diagnostic naming the file and line, when
    /// the section cannot make a parser; bad optional values add a diagnostic and fall back to the default.
    /// </summary>
    public static ParserDefinition? FromSection(ConfigSection section, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var name = section.Get("Name");
        if (string.IsNullOrEmpty(name))
        {
            diagnostics.Add(Error(section.Location, "[PARSER] has no Name"));
            return null;
        }

        var formatEntry = section.Find("Format");
        ParserFormat format;
        switch (formatEntry?.Value.ToLowerInvariant())
        {
            case "json":
                format = ParserFormat.Json;
                break;
            case "regex":
                format = ParserFormat.Regex;
                break;
            case "logfmt":
                format = ParserFormat.Logfmt;
                break;
            case "ltsv":
                format = ParserFormat.Ltsv;
                break;
            case null:
                diagnostics.Add(Error(section.Location, $"parser '{name}' has no Format (one of json, regex, logfmt, ltsv)"));
                return null;
            default:
                diagnostics.Add(Error(formatEntry.Location, $"parser '{name}': unknown Format '{formatEntry.Value}' (one of json, regex, logfmt, ltsv)"));
                return null;
        }

        var regex = section.Get("Regex");
        if (format == ParserFormat.Regex && string.IsNullOrEmpty(regex))
        {
            diagnostics.Add(Error(section.Location, $"parser '{name}' has Format regex but no Regex"));
            return null;
        }

        var offset = 0;
        var offsetEntry = section.Find("Time_Offset");
        if (offsetEntry is not null && !TryParseOffset(offsetEntry.Value, out offset))
        {
            diagnostics.Add(Error(offsetEntry.Location, $"parser '{name}': Time_Offset '{offsetEntry.Value}' must look like +0900 or -07:00"));
            return null;
        }

        var timeKey = section.Get("Time_Key");
        var timeFormat = section.Get("Time_Format");
        return new ParserDefinition
        {
            Name = name,
            Format = format,
            Regex = regex,
            TimeKey = string.IsNullOrEmpty(timeKey) ? "time" : timeKey,
            TimeFormat = string.IsNullOrEmpty(timeFormat) ? null : timeFormat,
            TimeKeep = ConfigValues.GetBool(section, "Time_Keep", false, diagnostics),
            TimeStrict = ConfigValues.GetBool(section, "Time_Strict", true, diagnostics),
            TimeOffsetSeconds = offset,
            TimeSystemTimezone = ConfigValues.GetBool(section, "Time_System_Timezone", false, diagnostics),
            SkipEmptyValues = ConfigValues.GetBool(section, "Skip_Empty_Values", true, diagnostics),
            LogfmtNoBareKeys = ConfigValues.GetBool(section, "Logfmt_No_Bare_Keys", false, diagnostics),
            Types = ReadTypes(section.FindAll("Types")),
            Decoders = ReadDecoders(section, name, diagnostics),
            Location = section.Location,
        };
    }

    /// <summary><c>Types key:type key2:type</c>; unknown type names mean string, as in flb_parser.c.</summary>
    private static List<KeyValuePair<string, ParserFieldType>> ReadTypes(IEnumerable<ConfigEntry> entries)
    {
        var types = new List<KeyValuePair<string, ParserFieldType>>();
        foreach (var entry in entries)
        {
            foreach (var pair in entry.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var colon = pair.IndexOf(':');
                if (colon <= 0)
                {
                    continue;
                }

                var type = pair[(colon + 1)..].ToLowerInvariant() switch
                {
                    "integer" => ParserFieldType.Integer,
                    "bool" => ParserFieldType.Bool,
                    "float" => ParserFieldType.Float,
                    "hex" => ParserFieldType.Hex,
                    _ => ParserFieldType.String,
                };
                types.Add(new KeyValuePair<string, ParserFieldType>(pair[..colon], type));
            }
        }

        return types;
    }

    private static List<DecoderRule> ReadDecoders(ConfigSection section, string name, ICollection<ConfigDiagnostic> diagnostics)
    {
        var rules = new List<DecoderRule>();
        foreach (var entry in section.Entries)
        {
            bool replace;
            if (entry.Key.Equals("Decode_Field", StringComparison.OrdinalIgnoreCase))
            {
                replace = false;
            }
            else if (entry.Key.Equals("Decode_Field_As", StringComparison.OrdinalIgnoreCase))
            {
                replace = true;
            }
            else
            {
                continue;
            }

            var parts = entry.Value.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            DecoderBackend? backend = parts.Length < 2 ? null : parts[0].ToLowerInvariant() switch
            {
                "json" => DecoderBackend.Json,
                "escaped" => DecoderBackend.Escaped,
                "escaped_utf8" => DecoderBackend.EscapedUtf8,
                _ => null,
            };
            if (backend is null)
            {
                diagnostics.Add(Error(entry.Location, $"parser '{name}': {entry.Key} '{entry.Value}' must be '<json|escaped|escaped_utf8> <field> [try_next|do_next]'"));
                continue;
            }

            var action = parts.Length < 3 ? DecoderAction.None : parts[2].ToLowerInvariant() switch
            {
                "try_next" => DecoderAction.TryNext,
                "do_next" => DecoderAction.DoNext,
                _ => DecoderAction.None,
            };
            rules.Add(new DecoderRule(parts[1], backend.Value, replace, action));
        }

        return rules;
    }

    /// <summary>Fluent Bit's flb_parser_tzone_offset: <c>Z</c>, <c>+hhmm</c> or <c>+hh:mm</c>.</summary>
    internal static bool TryParseOffset(string text, out int seconds)
    {
        seconds = 0;
        var v = text.Trim();
        if (v == "Z")
        {
            return true;
        }

        if (v.Length is not (5 or 6) || v[0] is not ('+' or '-'))
        {
            return false;
        }

        var minutesAt = v.Length == 6 ? 4 : 3;
        if ((v.Length == 6 && v[3] != ':') || !char.IsAsciiDigit(v[1]) || !char.IsAsciiDigit(v[2])
            || !char.IsAsciiDigit(v[minutesAt]) || !char.IsAsciiDigit(v[minutesAt + 1]))
        {
            return false;
        }

        var hours = ((v[1] - '0') * 10) + (v[2] - '0');
        var minutes = ((v[minutesAt] - '0') * 10) + (v[minutesAt + 1] - '0');
        if (hours > 59 || minutes > 59)
        {
            return false;
        }

        seconds = (hours * 3600) + (minutes * 60);
        if (v[0] == '-')
        {
            seconds = -seconds;
        }

        return true;
    }

    private static ConfigDiagnostic Error(ConfigLocation location, string message) => new(location, DiagnosticSeverity.Error, message);
}
