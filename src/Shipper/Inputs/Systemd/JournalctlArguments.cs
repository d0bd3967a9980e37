namespace Gateway.Shipper.Inputs.Systemd;

/// <summary>
/// The journalctl command line that streams the entries an input wants: JSON, one entry per line, following new
/// entries, starting after a cursor, at the tail or at the head.
/// </summary>
internal static class JournalctlArguments
{
    /// <summary>
    /// Builds the arguments. <paramref name="afterCursor"/> (the last delivered entry) wins over
    /// <see cref="SystemdInputOptions.ReadFromTail"/>.
    /// </summary>
    public static List<string> Build(SystemdInputOptions options, string? afterCursor)
    {
        var args = new List<string>(8 + (options.Filters.Count * 2));
        if (options.Path is not null)
        {
            args.Add("--directory=" + options.Path);
        }

        // --all: without it journalctl prints null for fields over 4096 bytes and for unprintable values, which
        // would lose data Fluent Bit (reading through sd-journal) keeps.
        args.Add("--output=json");
        args.Add("--all");
        args.Add("--follow");
        args.Add("--no-pager");
        if (afterCursor is not null)
        {
            // --no-tail: --follow alone means "the last 10 entries", which would skip or repeat entries.
            args.Add("--after-cursor=" + afterCursor);
            args.Add("--no-tail");
        }
        else if (options.ReadFromTail)
        {
            args.Add("--lines=0");
        }
        else
        {
            args.Add("--no-tail");
        }

        AddMatches(args, options.Filters, options.FilterType);
        return args;
    }

    /// <summary>
    /// journalctl ORs matches on the same field and ANDs different fields; <c>+</c> ORs whole groups. Fluent Bit's
    /// <c>Or</c> (a disjunction after every match) is therefore every match as its own group; <c>And</c> is the
    /// matches with no separator.
    /// </summary>
    private static void AddMatches(List<string> args, IReadOnlyList<string> filters, SystemdFilterType type)
    {
        for (var i = 0; i < filters.Count; i++)
        {
            if (i > 0 && type == SystemdFilterType.Or)
            {
                args.Add("+");
            }

            args.Add(filters[i]);
        }
    }
}
