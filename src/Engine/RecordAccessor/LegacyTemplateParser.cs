namespace Gateway.Engine.RecordAccessor;

/// <summary>
/// The template syntax of the Go <c>cloudwatch</c> plugin (amazon-cloudwatch-logs-for-fluent-bit):
/// <c>$(tag)</c>, <c>$(tag[N])</c> (0-based dot-separated part) and <c>$(key['sub']['sub2'])</c>; everything else
/// is literal text. The ECS metadata variables (<c>$(ecs_task_id)</c>, ...) and <c>$(uuid)</c> only exist on ECS /
/// in that plugin and are rejected with a clear error rather than silently rendering nothing.
/// </summary>
internal static class LegacyTemplateParser
{
    public static List<RecordAccessorPart> Parse(string pattern)
    {
        var parts = new List<RecordAccessorPart>();
        var pos = 0;
        while (pos < pattern.Length)
        {
            var open = pattern.IndexOf("$(", pos, StringComparison.Ordinal);
            if (open < 0)
            {
                break;
            }

            var close = pattern.IndexOf(')', open + 2);
            if (close < 0)
            {
                throw new RecordAccessorSyntaxException(pattern, $"'$(' at position {open} has no closing ')'");
            }

            if (open > pos)
            {
                parts.Add(RecordAccessorPart.Literal(pattern[pos..open]));
            }

            parts.Add(ParseVariable(pattern, pattern[(open + 2)..close].Trim()));
            pos = close + 1;
        }

        if (pos < pattern.Length)
        {
            parts.Add(RecordAccessorPart.Literal(pattern[pos..]));
        }

        return parts;
    }

    private static RecordAccessorPart ParseVariable(string pattern, string variable)
    {
        var bracket = variable.IndexOf('[', StringComparison.Ordinal);
        var root = bracket < 0 ? variable : variable[..bracket];
        if (root.Length == 0)
        {
            throw new RecordAccessorSyntaxException(pattern, $"empty variable name in '$({variable})'");
        }

        switch (root)
        {
            case "ecs_task_id" or "ecs_cluster" or "ecs_task_arn" or "uuid":
                throw new RecordAccessorSyntaxException(pattern, $"'$({variable})' is ECS/plugin metadata that the gateway does not provide");
            case "tag" when bracket < 0:
                return RecordAccessorPart.Tag();
            case "tag":
                var inner = variable[(bracket + 1)..].TrimEnd(']');
                if (!int.TryParse(inner, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                {
                    throw new RecordAccessorSyntaxException(pattern, $"'$({variable})' needs a tag part number, e.g. $(tag[1])");
                }

                return RecordAccessorPart.TagPart(index);
        }

        var subkeys = new List<RecordAccessorSubkey>();
        var k = bracket < 0 ? variable.Length : bracket;
        while (k < variable.Length)
        {
            if (variable[k] != '[')
            {
                throw new RecordAccessorSyntaxException(pattern, $"unexpected '{variable[k..]}' in '$({variable})'");
            }

            var end = variable.IndexOf(']', k);
            if (end < 0)
            {
                throw new RecordAccessorSyntaxException(pattern, $"missing ']' in '$({variable})'");
            }

            var key = variable[(k + 1)..end].Trim();
            if (key.Length >= 2 && key[0] == '\'' && key[^1] == '\'')
            {
                key = key[1..^1];
            }

            subkeys.Add(RecordAccessorSubkey.ForKey(key));
            k = end + 1;
        }

        return RecordAccessorPart.Key(root, [.. subkeys]);
    }
}
