using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// Runs a .NET regex over UTF-8 bytes without allocating (decodes into stack or thread scratch). A match that
/// runs past the regex's timeout counts as no match, so one hostile line cannot stall the pipeline.
/// </summary>
internal static class Utf8Regex
{
    private const int StackChars = 512;

    [ThreadStatic]
    private static char[]? t_chars;

    public static bool IsMatch(Regex regex, ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length <= StackChars)
        {
            Span<char> chars = stackalloc char[StackChars];
            var n = Encoding.UTF8.GetChars(utf8, chars);
            return IsMatch(regex, chars[..n]);
        }

        var buffer = t_chars;
        if (buffer is null || buffer.Length < utf8.Length)
        {
            buffer = t_chars = new char[Math.Max(utf8.Length, 4096)];
        }

        var count = Encoding.UTF8.GetChars(utf8, buffer);
        return IsMatch(regex, buffer.AsSpan(0, count));
    }

    private static bool IsMatch(Regex regex, ReadOnlySpan<char> text)
    {
        try
        {
            return regex.IsMatch(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }
    }
}
