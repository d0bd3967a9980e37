using System.Text;
using System.Text.RegularExpressions;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>
/// Per-file tags as Fluent Bit's in_tail <c>tag_compose</c>:
/// <list type="bullet">
/// <item>Without <c>Tag_Regex</c>, the first <c>*</c> in the tag is replaced by the file path; then every
/// <c>/</c>, <c>\</c> and <c>:</c> becomes <c>.</c> (dropped when it is the first character), repeated dots collapse,
/// other <c>*</c> are dropped and a trailing dot is removed:
/// <c>application.*</c> + <c>/var/log/containers/x.log</c> → <c>application.var.log.containers.x.log</c>.</item>
/// <item>With <c>Tag_Regex</c>, each <c>&lt;name&gt;</c> in the tag is replaced by that named group of the regex
/// matched against the path (<c>_</c> when the group is missing); no sanitising.</item>
/// <item>A tag without <c>*</c> (and no Tag_Regex) is used as is.</item>
/// </list>
/// </summary>
public static class TailTagComposer
{
    /// <summary>Composes the tag for <paramref name="path"/>; null when Tag_Regex does not match (the file is not followed).</summary>
    public static string? Compose(string tag, Regex? tagRegex, string path)
    {
        if (tagRegex is not null)
        {
            return ComposeWithRegex(tag, tagRegex, path);
        }

        var star = tag.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return tag;
        }

        var raw = string.Concat(tag.AsSpan(0, star), path, tag.AsSpan(star + 1));
        var sb = new StringBuilder(raw.Length);
        foreach (var c in raw)
        {
            var ch = c is '/' or '\\' or ':' ? '.' : c;
            if (ch == '.')
            {
                if (sb.Length == 0)
                {
                    if (c != '.')
                    {
                        continue; // a leading separator is dropped
                    }
                }
                else if (sb[^1] == '.')
                {
                    continue; // collapse ".."
                }
            }
            else if (ch == '*')
            {
                continue;
            }

            sb.Append(ch);
        }

        if (sb.Length > 0 && sb[^1] == '.')
        {
            sb.Length--;
        }

        return sb.ToString();
    }

    private static string? ComposeWithRegex(string tag, Regex tagRegex, string path)
    {
        var match = tagRegex.Match(path);
        if (!match.Success)
        {
            return null;
        }

        var sb = new StringBuilder(tag.Length + path.Length);
        var pos = 0;
        while (pos < tag.Length)
        {
            var open = tag.IndexOf('<', pos);
            if (open < 0)
            {
                sb.Append(tag, pos, tag.Length - pos);
                break;
            }

            sb.Append(tag, pos, open - pos);
            var close = tag.IndexOf('>', open + 1);
            if (close < 0)
            {
                return null;
            }

            var name = tag.Substring(open + 1, close - open - 1);
            var group = match.Groups[name];
            sb.Append(group.Success ? group.Value : "_");
            pos = close + 1;
        }

        return sb.ToString();
    }
}
