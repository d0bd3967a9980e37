namespace Gateway.Shipper.Inputs.Tail;

/// <summary>
/// File discovery for <c>Path</c> (glob(3): <c>*</c>, <c>?</c>, <c>[...]</c> within one path segment, in any
/// segment) and matching for <c>Exclude_Path</c> (fnmatch(3) without flags, where <c>*</c> also crosses <c>/</c>).
/// </summary>
internal static class PathGlob
{
    /// <summary>Expands an absolute glob to the existing paths it names (files and links; the caller stats them).</summary>
    public static List<string> Expand(string pattern)
    {
        var results = new List<string>();
        if (!HasWildcard(pattern))
        {
            if (File.Exists(pattern))
            {
                results.Add(pattern);
            }

            return results;
        }

        var segments = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        Walk(pattern.StartsWith('/') ? "/" : ".", segments, 0, results);
        results.Sort(StringComparer.Ordinal);
        return results;
    }

    /// <summary>The longest leading directory without wildcards (what a watcher can watch).</summary>
    public static string StaticDirectory(string pattern)
    {
        var dir = Path.GetDirectoryName(pattern) ?? "/";
        while (HasWildcard(dir))
        {
            dir = Path.GetDirectoryName(dir) ?? "/";
        }

        return dir.Length == 0 ? "/" : dir;
    }

    public static bool HasWildcard(string s) => s.AsSpan().IndexOfAny('*', '?', '[') >= 0;

    /// <summary>fnmatch(pattern, text, 0): <c>*</c> matches any run of characters including <c>/</c>.</summary>
    public static bool FnMatch(string pattern, string text) => Match(pattern, 0, text, 0, crossSlash: true);

    /// <summary>Matches one path segment.</summary>
    public static bool SegmentMatch(string pattern, string segment) => Match(pattern, 0, segment, 0, crossSlash: false);

    private static void Walk(string dir, string[] segments, int index, List<string> results)
    {
        var segment = segments[index];
        var last = index == segments.Length - 1;
        if (!HasWildcard(segment))
        {
            var next = Path.Combine(dir, segment);
            if (last)
            {
                if (File.Exists(next))
                {
                    results.Add(next);
                }
            }
            else if (Directory.Exists(next))
            {
                Walk(next, segments, index + 1, results);
            }

            return;
        }

        IEnumerable<string> entries;
        try
        {
            entries = last ? Directory.EnumerateFiles(dir) : Directory.EnumerateDirectories(dir);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return;
        }

        foreach (var entry in entries)
        {
            var name = Path.GetFileName(entry);
            if (name.StartsWith('.') && !segment.StartsWith('.'))
            {
                continue; // glob(3) does not match hidden names with a leading wildcard
            }

            if (!SegmentMatch(segment, name))
            {
                continue;
            }

            if (last)
            {
                results.Add(entry);
            }
            else
            {
                Walk(entry, segments, index + 1, results);
            }
        }
    }

    private static bool Match(string p, int pi, string t, int ti, bool crossSlash)
    {
        while (pi < p.Length)
        {
            var c = p[pi];
            if (c == '*')
            {
                while (pi < p.Length && p[pi] == '*')
                {
                    pi++;
                }

                if (pi == p.Length)
                {
                    return crossSlash || t.IndexOf('/', ti) < 0;
                }

                for (var k = ti; k <= t.Length; k++)
                {
                    if (Match(p, pi, t, k, crossSlash))
                    {
                        return true;
                    }

                    if (k < t.Length && !crossSlash && t[k] == '/')
                    {
                        return false;
                    }
                }

                return false;
            }

            if (ti >= t.Length)
            {
                return false;
            }

            if (c == '?')
            {
                if (!crossSlash && t[ti] == '/')
                {
                    return false;
                }

                pi++;
                ti++;
                continue;
            }

            if (c == '[')
            {
                var end = p.IndexOf(']', pi + 2);
                if (end > 0)
                {
                    var negate = p[pi + 1] is '!' or '^';
                    var set = p.AsSpan((negate ? pi + 2 : pi + 1)..end);
                    var matched = false;
                    for (var i = 0; i < set.Length; i++)
                    {
                        if (i + 2 < set.Length && set[i + 1] == '-')
                        {
                            matched |= t[ti] >= set[i] && t[ti] <= set[i + 2];
                            i += 2;
                        }
                        else
                        {
                            matched |= t[ti] == set[i];
                        }
                    }

                    if (matched == negate)
                    {
                        return false;
                    }

                    pi = end + 1;
                    ti++;
                    continue;
                }
            }

            if (c != t[ti])
            {
                return false;
            }

            pi++;
            ti++;
        }

        return ti == t.Length;
    }
}

/// <summary>
/// Maps configured (logical) paths such as <c>/var/log/containers/*.log</c> to where they are on this machine,
/// e.g. under a test fixture tree or a host mount. Tags and <c>Path_Key</c> always use the logical path, so records
/// look the same as on a real node.
/// </summary>
internal sealed class TailPathMapper
{
    private readonly string? _root;

    public TailPathMapper(string? root)
    {
        _root = string.IsNullOrEmpty(root) ? null : Path.GetFullPath(root).TrimEnd('/');
    }

    public string ToPhysical(string logical) => _root is null ? logical : _root + (logical.StartsWith('/') ? logical : "/" + logical);

    public string ToLogical(string physical)
    {
        if (_root is not null && physical.StartsWith(_root + "/", StringComparison.Ordinal))
        {
            return physical[_root.Length..];
        }

        return physical;
    }
}
