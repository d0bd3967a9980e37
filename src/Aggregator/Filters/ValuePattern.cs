using System.Text;
using System.Text.RegularExpressions;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// A configured regex, matched against UTF-8 bytes. A pattern without any regex syntax (<c>true</c>,
/// <c>kube-system</c>) means "contains this text" and is matched as a byte search, which is what the regex
/// would answer, only without decoding the value.
/// </summary>
internal sealed class ValuePattern
{
    private readonly Regex _regex;
    private readonly byte[]? _literal;

    private ValuePattern(Regex regex, byte[]? literal)
    {
        _regex = regex;
        _literal = literal;
    }

    public static ValuePattern Create(ConfigEntry entry, string pattern)
    {
        var regex = FilterOptions.CompileRegex(entry, pattern);
        return new ValuePattern(regex, IsLiteral(pattern) ? Encoding.UTF8.GetBytes(pattern) : null);
    }

    public override string ToString() => _regex.ToString();

    public bool IsMatch(ReadOnlySpan<byte> utf8) =>
        _literal is not null ? utf8.IndexOf(_literal) >= 0 : Utf8Regex.IsMatch(_regex, utf8);

    private static bool IsLiteral(string pattern)
    {
        if (pattern.Length == 0 || pattern[0] == '/')
        {
            return false; // "/.../flags" is Fluent Bit's delimited form
        }

        foreach (var c in pattern)
        {
            if (c is '\\' or '^' or '$' or '.' or '|' or '?' or '*' or '+' or '(' or ')' or '[' or ']' or '{' or '}' or '#' || c > 0x7e || c < 0x20)
            {
                return false;
            }
        }

        return true;
    }
}
