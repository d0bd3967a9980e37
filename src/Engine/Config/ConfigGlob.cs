namespace Gateway.Engine.Config;

/// <summary>
/// The subset of glob(3) that <c>@INCLUDE</c> patterns use: <c>*</c>, <c>?</c> and <c>[...]</c> in any path
/// segment. Results are sorted so a config loads the same way on every machine (Fluent Bit passes GLOB_NOSORT and
/// gets directory order, which is not stable).
/// </summary>
internal static class ConfigGlob
{
    public static List<string> Expand(string pattern)
    {
        var results = new List<string>();
        string fullPattern;
        try
        {
            fullPattern = Path.GetFullPath(pattern);
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return results;
        }

        var root = Path.GetPathRoot(fullPattern) ?? "/";
        var segments = fullPattern[root.Length..].Split(
            [Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar], StringSplitOptions.RemoveEmptyEntries);
        ExpandFrom(root, segments, 0, results);
        results.Sort(StringComparer.Ordinal);
        return results;
    }

    private static void ExpandFrom(string directory, string[] segments, int index, List<string> results)
    {
        if (index == segments.Length)
        {
            return;
        }

        var segment = segments[index];
        var isLast = index == segments.Length - 1;
        if (segment.IndexOfAny(['*', '?', '[']) < 0)
        {
            var next = Path.Combine(directory, segment);
            if (isLast)
            {
                if (File.Exists(next))
                {
                    results.Add(next);
                }
            }
            else if (Directory.Exists(next))
            {
                ExpandFrom(next, segments, index + 1, results);
            }

            return;
        }

        IEnumerable<string> candidates;
        try
        {
            candidates = isLast ? Directory.EnumerateFiles(directory) : Directory.EnumerateDirectories(directory);
            foreach (var candidate in candidates)
            {
                var name = Path.GetFileName(candidate);

                // As in glob(3), a leading dot must be matched explicitly.
                if (name.StartsWith('.') && !segment.StartsWith('.'))
                {
                    continue;
                }

                if (!Matches(segment, name))
                {
                    continue;
                }

                if (isLast)
                {
                    results.Add(candidate);
                }
                else
                {
                    ExpandFrom(candidate, segments, index + 1, results);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An unreadable directory matches nothing, like glob(3) without GLOB_ERR.
        }
    }

    /// <summary>fnmatch(3) without flags: <c>*</c>, <c>?</c>, <c>[abc]</c>, <c>[a-z]</c>, <c>[!x]</c>.</summary>
    internal static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int p = 0, n = 0, starP = -1, starN = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starN = n;
                continue;
            }

            if (p < pattern.Length && MatchOne(pattern, ref p, name[n]))
            {
                n++;
                continue;
            }

            if (starP >= 0)
            {
                p = starP + 1;
                n = ++starN;
                continue;
            }

            return false;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>Matches one pattern element at <paramref name="p"/>; advances past it only on success.</summary>
    private static bool MatchOne(ReadOnlySpan<char> pattern, ref int p, char c)
    {
        var token = pattern[p];
        if (token == '?')
        {
            p++;
            return true;
        }

        if (token == '[')
        {
            var i = p + 1;
            var negate = i < pattern.Length && (pattern[i] == '!' || pattern[i] == '^');
            if (negate)
            {
                i++;
            }

            var matched = false;
            var first = true;
            while (i < pattern.Length && (first || pattern[i] != ']'))
            {
                first = false;
                var low = pattern[i];
                if (i + 2 < pattern.Length && pattern[i + 1] == '-' && pattern[i + 2] != ']')
                {
                    matched |= c >= low && c <= pattern[i + 2];
                    i += 3;
                }
                else
                {
                    matched |= c == low;
                    i++;
                }
            }

            if (i >= pattern.Length)
            {
                // No closing ']': the '[' is an ordinary character.
                if (c == '[')
                {
                    p++;
                    return true;
                }

                return false;
            }

            if (matched != negate)
            {
                p = i + 1;
                return true;
            }

            return false;
        }

        if (token == c)
        {
            p++;
            return true;
        }

        return false;
    }
}
