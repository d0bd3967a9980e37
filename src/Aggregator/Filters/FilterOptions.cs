using System.Text;
using System.Text.RegularExpressions;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.RecordAccessor;

namespace Gateway.Aggregator.Filters;

/// <summary>Option parsing shared by the filters, with errors that carry the option's file:line.</summary>
internal static class FilterOptions
{
    /// <summary>Keys every [FILTER] may have that are the engine's business, not the plugin's.</summary>
    public static bool IsCommonKey(string key) =>
        key.Equals("Name", StringComparison.OrdinalIgnoreCase)
        || key.Equals("Match", StringComparison.OrdinalIgnoreCase)
        || key.Equals("Match_Regex", StringComparison.OrdinalIgnoreCase)
        || key.Equals("Alias", StringComparison.OrdinalIgnoreCase)
        || key.Equals("Log_Level", StringComparison.OrdinalIgnoreCase);

    public static ConfigException Error(ConfigEntry entry, string message) => new(entry.Location, message);

    public static ConfigException Error(ConfigSection section, string message) => new(section.Location, message);

    /// <summary>Splits <c>FIRST rest of the value</c> at the first space (flb_utils_split with one split).</summary>
    public static bool TrySplitFirst(string value, out string first, out string rest)
    {
        var trimmed = value.Trim();
        var space = trimmed.IndexOfAny([' ', '\t']);
        if (space < 0)
        {
            first = trimmed;
            rest = string.Empty;
            return false;
        }

        first = trimmed[..space];
        rest = trimmed[(space + 1)..].Trim();
        return rest.Length > 0;
    }

    /// <summary>
    /// Splits on spaces honouring "double" and 'single' quotes with backslash escapes inside them, as
    /// flb_utils_split_quoted does for modify's rules.
    /// </summary>
    public static List<string> SplitQuoted(ConfigEntry entry)
    {
        var parts = new List<string>();
        var value = entry.Value;
        var i = 0;
        while (i < value.Length)
        {
            while (i < value.Length && value[i] is ' ' or '\t')
            {
                i++;
            }

            if (i >= value.Length)
            {
                break;
            }

            var token = new StringBuilder();
            if (value[i] is '"' or '\'')
            {
                var quote = value[i++];
                var closed = false;
                while (i < value.Length)
                {
                    var c = value[i++];
                    if (c == '\\' && i < value.Length)
                    {
                        token.Append(value[i++]);
                        continue;
                    }

                    if (c == quote)
                    {
                        closed = true;
                        break;
                    }

                    token.Append(c);
                }

                if (!closed)
                {
                    throw Error(entry, $"{entry.Key}: unterminated quote in '{value}'");
                }

                if (i < value.Length && value[i] is not (' ' or '\t'))
                {
                    throw Error(entry, $"{entry.Key}: a quoted string must be followed by a space in '{value}'");
                }
            }
            else
            {
                while (i < value.Length && value[i] is not (' ' or '\t'))
                {
                    token.Append(value[i++]);
                }
            }

            parts.Add(token.ToString());
        }

        return parts;
    }

    /// <summary>Compiles a Fluent Bit (Onigmo syntax) regex, mapped to .NET by <see cref="OnigmoRegex"/>.</summary>
    public static Regex CompileRegex(ConfigEntry entry, string pattern)
    {
        if (!OnigmoRegex.TryCompile(pattern, out var regex, out var error))
        {
            throw Error(entry, $"{entry.Key}: invalid regular expression '{pattern}': {error}");
        }

        // Compiled: built once at config load, run on every record.
        return new Regex(regex!.ToString(), regex.Options | RegexOptions.Compiled, regex.MatchTimeout);
    }

    public static RecordAccessor ParseAccessor(ConfigEntry entry, string pattern)
    {
        try
        {
            return RecordAccessor.Parse(pattern);
        }
        catch (RecordAccessorSyntaxException ex)
        {
            throw Error(entry, $"{entry.Key}: {ex.Message}");
        }
    }
}
