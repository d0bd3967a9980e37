using System.Text.RegularExpressions;
using Gateway.Engine.Config;

namespace Gateway.Engine.Routing;

/// <summary>
/// A section's <c>Match</c> / <c>Match_Regex</c>, with Fluent Bit's semantics (<c>flb_router_match</c>):
/// <list type="bullet">
/// <item><c>Match</c>: the whole tag must match; <c>*</c> matches any run of characters, dots included, even an
/// empty one; every other character is literal and case-sensitive. There is no <c>?</c>.</item>
/// <item><c>Match_Regex</c>: anchored at the start of the tag only (Onigmo <c>onig_match</c>), and the match must
/// be non-empty.</item>
/// <item>With both keys, either one matching is enough (Fluent Bit tries the regex, then the pattern).</item>
/// </list>
/// </summary>
internal sealed class TagMatcher
{
    private readonly string? _pattern;
    private readonly Regex? _regex;

    public TagMatcher(string? pattern, string? regex)
    {
        if (pattern is null && regex is null)
        {
            throw new ArgumentException("a matcher needs a pattern or a regex");
        }

        _pattern = pattern;
        if (regex is not null)
        {
            // \G pins the match to the start of the tag; the end is left open, as onig_match does.
            _regex = new Regex(@"\G(?:" + regex + ")", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }

        Description = (pattern, regex) switch
        {
            (not null, not null) => $"Match {pattern} / Match_Regex {regex}",
            (not null, null) => $"Match {pattern}",
            _ => $"Match_Regex {regex}",
        };
    }

    /// <summary>The configured rule, for logs.</summary>
    public string Description { get; }

    /// <summary>
    /// Reads <c>Match</c> and <c>Match_Regex</c> of a section; null when it has neither (Fluent Bit then routes
    /// nothing to it). A bad regex throws with the file:line.
    /// </summary>
    public static TagMatcher? FromSection(ConfigSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var match = section.Find("Match");
        var regex = section.Find("Match_Regex");
        if (match is null && regex is null)
        {
            return null;
        }

        try
        {
            return new TagMatcher(match?.Value, regex?.Value);
        }
        catch (ArgumentException ex) when (regex is not null)
        {
            throw new ConfigException(regex.Location, $"Match_Regex '{regex.Value}' is not a valid regular expression: {ex.Message}");
        }
    }

    public bool IsMatch(string tag)
    {
        if (_regex is not null)
        {
            try
            {
                var m = _regex.Match(tag);
                if (m.Success && m.Length > 0)
                {
                    return true;
                }
            }
            catch (RegexMatchTimeoutException)
            {
                // A pathological pattern must not stall ingest; such a tag simply does not match the regex.
            }
        }

        return _pattern is not null && WildcardMatch(tag, _pattern);
    }

    /// <summary>
    /// Glob with <c>*</c> only, whole-string, by the classic backtrack-to-last-star walk: linear for one star and
    /// the same answers as Fluent Bit's recursive matcher.
    /// </summary>
    public static bool WildcardMatch(ReadOnlySpan<char> tag, ReadOnlySpan<char> pattern)
    {
        int t = 0, p = 0, starP = -1, starT = 0;
        while (t < tag.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starP = ++p;
                starT = t;
            }
            else if (p < pattern.Length && pattern[p] == tag[t])
            {
                p++;
                t++;
            }
            else if (starP >= 0)
            {
                p = starP;
                t = ++starT;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    public override string ToString() => Description;
}
