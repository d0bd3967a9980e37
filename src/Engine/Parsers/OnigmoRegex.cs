using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Engine.Parsers;

/// <summary>
/// Turns a Fluent Bit (Onigmo, Ruby syntax) regex into a .NET <see cref="Regex"/>. Most syntax is shared
/// (named groups <c>(?&lt;name&gt;...)</c>, lookarounds, <c>\A \z</c>); the differences that are easy to map are
/// rewritten and the ones .NET cannot express are reported instead of silently matching something else.
/// </summary>
internal static class OnigmoRegex
{
    /// <summary>
    /// Bounds a single match so a pathological pattern or line cannot stall a pipeline thread; a timeout is
    /// treated as "no match" by callers.
    /// </summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromSeconds(1);

    private static readonly Dictionary<string, string> PosixClasses = new(StringComparer.Ordinal)
    {
        ["alpha"] = "a-zA-Z",
        ["digit"] = "0-9",
        ["alnum"] = "a-zA-Z0-9",
        ["upper"] = "A-Z",
        ["lower"] = "a-z",
        ["xdigit"] = "0-9a-fA-F",
        ["space"] = @"\s",
        ["blank"] = @" \t",
        ["word"] = @"\w",
        ["punct"] = @"!-/:-@\[-`{-~",
        ["cntrl"] = @"\x00-\x1f\x7f",
        ["print"] = @"\x20-\x7e",
        ["graph"] = @"\x21-\x7e",
    };

    /// <summary>
    /// Compiles <paramref name="pattern"/>. Accepts Fluent Bit's <c>/pattern/flags</c> form (flags i, m, x).
    /// Ruby's <c>^</c>/<c>$</c> are line anchors and its <c>m</c> flag means "dot matches newline"; both are mapped.
    /// </summary>
    /// <param name="pattern">The Fluent Bit regex.</param>
    /// <param name="regex">The compiled regex on success.</param>
    /// <param name="error">Why the pattern cannot be used.</param>
    /// <param name="forMatching">True for regexes that will run per record: they are compiled to IL (ignored under
    /// NativeAOT, which interprets); validation alone skips that cost.</param>
    public static bool TryCompile(string pattern, out Regex? regex, out string? error, bool forMatching = false)
    {
        regex = null;
        var options = RegexOptions.Multiline | RegexOptions.CultureInvariant | (forMatching ? RegexOptions.Compiled : RegexOptions.None);
        var body = StripDelimiters(pattern, ref options);
        if (!TryTranslate(body, out var translated, out error))
        {
            return false;
        }

        try
        {
            regex = new Regex(translated, options, MatchTimeout);
            return true;
        }
        catch (ArgumentException ex)
        {
            error = ex.Message;
            return false;
        }
    }

    private static string StripDelimiters(string pattern, ref RegexOptions options)
    {
        if (pattern.Length < 2 || pattern[0] != '/')
        {
            return pattern;
        }

        var close = pattern.LastIndexOf('/');
        if (close <= 0)
        {
            return pattern;
        }

        var flags = pattern.AsSpan(close + 1);
        foreach (var flag in flags)
        {
            if (flag is not ('i' or 'm' or 'x'))
            {
                return pattern;
            }
        }

        foreach (var flag in flags)
        {
            options |= flag switch
            {
                'i' => RegexOptions.IgnoreCase,
                'm' => RegexOptions.Singleline,
                _ => RegexOptions.IgnorePatternWhitespace,
            };
        }

        return pattern[1..close];
    }

    /// <summary>Rewrites Onigmo-only syntax into .NET syntax; false with a reason when it cannot be expressed.</summary>
    public static bool TryTranslate(string pattern, out string translated, out string? error)
    {
        var output = new StringBuilder(pattern.Length + 16);
        var inClass = false;
        var classStart = -1;
        var lastWasQuantifier = false;
        error = null;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\')
            {
                lastWasQuantifier = false;
                if (i + 1 >= pattern.Length)
                {
                    output.Append(c);
                    continue;
                }

                var next = pattern[++i];
                switch (next)
                {
                    case 'h':
                        output.Append(inClass ? "0-9a-fA-F" : "[0-9a-fA-F]");
                        break;
                    case 'H' when !inClass:
                        output.Append("[^0-9a-fA-F]");
                        break;
                    case 'H':
                        translated = string.Empty;
                        error = @"\H inside a character class cannot be expressed in .NET";
                        return false;
                    case 'K':
                        translated = string.Empty;
                        error = @"\K (keep) is not supported by .NET regular expressions";
                        return false;
                    case 'X':
                        translated = string.Empty;
                        error = @"\X (extended grapheme cluster) is not supported by .NET regular expressions";
                        return false;
                    case 'R' when !inClass:
                        output.Append(@"(?:\r\n|[\n\v\f\r\u0085\u2028\u2029])");
                        break;
                    case 'g' when i + 1 < pattern.Length && pattern[i + 1] is '<' or '\'':
                        translated = string.Empty;
                        error = @"subexpression calls (\g<name>) are not supported by .NET regular expressions";
                        return false;
                    case 'x' when i + 1 < pattern.Length && pattern[i + 1] == '{':
                        var close = pattern.IndexOf('}', i + 2);
                        if (close < 0 || !int.TryParse(pattern.AsSpan(i + 2, close - i - 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out var codePoint)
                            || codePoint > 0xFFFF)
                        {
                            translated = string.Empty;
                            error = $@"\x{{...}} escape at offset {i - 1} is not a code point .NET can match (only up to FFFF)";
                            return false;
                        }

                        output.Append(@"\u").Append(codePoint.ToString("X4", System.Globalization.CultureInfo.InvariantCulture));
                        i = close;
                        break;
                    default:
                        output.Append('\\').Append(next);
                        break;
                }

                continue;
            }

            if (inClass)
            {
                if (c == '[')
                {
                    if (i + 1 < pattern.Length && pattern[i + 1] == ':')
                    {
                        var end = pattern.IndexOf(":]", i + 2, StringComparison.Ordinal);
                        if (end > 0)
                        {
                            var name = pattern[(i + 2)..end];
                            var negated = name.StartsWith('^');
                            if (!negated && PosixClasses.TryGetValue(name, out var replacement))
                            {
                                output.Append(replacement);
                                i = end + 1;
                                continue;
                            }

                            translated = string.Empty;
                            error = $"POSIX bracket [:{name}:] is not supported";
                            return false;
                        }
                    }

                    var nestedEnd = pattern.IndexOf(']', i + 1);
                    var nested = nestedEnd > i ? pattern[i..(nestedEnd + 1)] : pattern[i..];
                    translated = string.Empty;
                    error = $"nested character class '{nested}' at offset {i} (inside the class that starts at offset {classStart}) is not supported by .NET regular expressions";
                    return false;
                }

                if (c == '&' && i + 1 < pattern.Length && pattern[i + 1] == '&')
                {
                    translated = string.Empty;
                    error = "character class intersection (&&) is not supported by .NET regular expressions";
                    return false;
                }

                // A ']' right after '[' or '[^' is a literal in both dialects.
                if (c == ']' && i > classStart + 1 && !(i == classStart + 2 && pattern[classStart + 1] == '^'))
                {
                    inClass = false;
                }

                output.Append(c);
                continue;
            }

            switch (c)
            {
                case '[':
                    inClass = true;
                    classStart = i;
                    lastWasQuantifier = false;
                    output.Append(c);
                    break;
                case '*' or '+' or '?':
                    if (c == '+' && lastWasQuantifier)
                    {
                        translated = string.Empty;
                        error = $"possessive quantifier at offset {i - 1} is not supported by .NET regular expressions; use an atomic group (?>...)";
                        return false;
                    }

                    // '?' after '(' starts a group construct, not a quantifier.
                    lastWasQuantifier = !(c == '?' && i > 0 && pattern[i - 1] == '(') && !lastWasQuantifier;
                    output.Append(c);
                    break;
                case '(' when i + 2 < pattern.Length && pattern[i + 1] == '?' && IsOptionGroup(pattern, i + 2):
                    // Ruby's (?m) is "dot matches newline", which .NET spells (?s).
                    output.Append("(?");
                    i += 2;
                    while (i < pattern.Length && pattern[i] is not (')' or ':'))
                    {
                        output.Append(pattern[i] == 'm' ? 's' : pattern[i]);
                        i++;
                    }

                    if (i < pattern.Length)
                    {
                        output.Append(pattern[i]);
                    }

                    lastWasQuantifier = false;
                    break;
                default:
                    lastWasQuantifier = false;
                    output.Append(c);
                    break;
            }
        }

        translated = output.ToString();
        return true;
    }

    /// <summary>
    /// Hints for text that compiles (in Onigmo at least) but is almost certainly not what the author meant, such as
    /// a yen sign where a backslash was typed on a Japanese code page.
    /// </summary>
    public static IReadOnlyList<string> FindSuspiciousConstructs(string pattern)
    {
        var hints = new List<string>();
        var yen = pattern.IndexOf('\u00A5');
        if (yen >= 0)
        {
            hints.Add($"the pattern contains '\u00A5' (U+00A5 YEN SIGN) at offset {yen}; a backslash was probably meant (a Japanese code page shows '\\' as '\u00A5')");
        }

        var won = pattern.IndexOf('\u20A9');
        if (won >= 0)
        {
            hints.Add($"the pattern contains '\u20A9' (U+20A9 WON SIGN) at offset {won}; a backslash was probably meant");
        }

        for (var i = 0; i + 4 < pattern.Length; i++)
        {
            if (pattern[i] == '{' && char.IsAsciiDigit(pattern[i + 1]) && pattern[i + 2] == '.' && char.IsAsciiDigit(pattern[i + 3]) && pattern[i + 4] == '}'
                && (i == 0 || pattern[i - 1] != '\\'))
            {
                hints.Add($"'{pattern.AsSpan(i, 5)}' at offset {i} matches that literal text; a repetition is written {{{pattern[i + 1]},{pattern[i + 3]}}}");
            }
        }

        return hints;
    }

    private static bool IsOptionGroup(string pattern, int start)
    {
        var i = start;
        while (i < pattern.Length && pattern[i] is 'i' or 'm' or 'x' or '-')
        {
            i++;
        }

        return i > start && i < pattern.Length && pattern[i] is ')' or ':';
    }
}
