using System.Buffers;
using Gateway.Engine.Config;
using Gateway.Engine.Json;
using Gateway.Engine.RecordAccessor;

namespace Gateway.Aggregator.Filters;

/// <summary>How grep combines its rules (Fluent Bit's <c>Logical_Op</c>).</summary>
internal enum GrepLogicalOperator
{
    /// <summary>Rules in order; the first matching Regex keeps, a failing Regex or matching Exclude drops.</summary>
    Legacy,
    And,
    Or,
}

/// <summary>
/// Fluent Bit's <c>grep</c> filter (plugins/filter_grep/grep.c): <c>Regex KEY REGEX</c> keeps records whose value
/// matches, <c>Exclude KEY REGEX</c> drops them. KEY is a record accessor (<c>$kubernetes['labels']['app']</c>;
/// a plain name gets a <c>$</c> in front). As flb_ra_regex_match, only string values can match: a missing key,
/// a number or a map is "no match".
/// </summary>
internal sealed class GrepFilter : RecordFilter
{
    private readonly GrepRule[] _rules;
    private readonly GrepLogicalOperator _operator;

    private GrepFilter(string name, GrepRule[] rules, GrepLogicalOperator logicalOperator)
        : base(name)
    {
        _rules = rules;
        _operator = logicalOperator;
    }

    public static GrepFilter Create(ConfigSection section, string name)
    {
        var op = GrepLogicalOperator.Legacy;
        var rules = new List<GrepRule>();
        foreach (var entry in section.Entries)
        {
            if (entry.Key.Equals("Logical_Op", StringComparison.OrdinalIgnoreCase))
            {
                op = entry.Value.Trim().ToUpperInvariant() switch
                {
                    "LEGACY" => GrepLogicalOperator.Legacy,
                    "AND" => GrepLogicalOperator.And,
                    "OR" => GrepLogicalOperator.Or,
                    _ => throw FilterOptions.Error(entry, $"Logical_Op: '{entry.Value}' is not legacy, AND or OR"),
                };
            }
        }

        bool? firstIsExclude = null;
        foreach (var entry in section.Entries)
        {
            bool exclude;
            if (entry.Key.Equals("Regex", StringComparison.OrdinalIgnoreCase))
            {
                exclude = false;
            }
            else if (entry.Key.Equals("Exclude", StringComparison.OrdinalIgnoreCase))
            {
                exclude = true;
            }
            else if (entry.Key.Equals("Logical_Op", StringComparison.OrdinalIgnoreCase) || FilterOptions.IsCommonKey(entry.Key))
            {
                continue;
            }
            else
            {
                throw FilterOptions.Error(entry, $"grep: unknown option '{entry.Key}' (expected Regex, Exclude or Logical_Op)");
            }

            if (op != GrepLogicalOperator.Legacy && firstIsExclude is { } first && first != exclude)
            {
                throw FilterOptions.Error(entry, $"grep: Regex and Exclude cannot be mixed with Logical_Op {op}");
            }

            firstIsExclude ??= exclude;
            if (!FilterOptions.TrySplitFirst(entry.Value, out var field, out var pattern))
            {
                throw FilterOptions.Error(entry, $"{entry.Key}: expected 'KEY REGEX', got '{entry.Value}'");
            }

            var accessor = FilterOptions.ParseAccessor(entry, field.StartsWith('$') ? field : "$" + field);
            rules.Add(new GrepRule(accessor, ValuePattern.Create(entry, pattern), exclude));
        }

        return new GrepFilter(name, [.. rules], op);
    }

    protected override RecordOutcome Process(string tag, ReadOnlySpan<byte> record, IBufferWriter<byte> newRecord)
    {
        if (_rules.Length == 0)
        {
            return RecordOutcome.Unchanged;
        }

        if (_operator == GrepLogicalOperator.Legacy)
        {
            foreach (var rule in _rules)
            {
                if (!rule.Matches(record))
                {
                    if (!rule.Exclude)
                    {
                        return RecordOutcome.Dropped;
                    }
                }
                else
                {
                    return rule.Exclude ? RecordOutcome.Dropped : RecordOutcome.Unchanged;
                }
            }

            return RecordOutcome.Unchanged;
        }

        // AND / OR (grep_filter_data_and_or): stop at the first deciding rule; the last rule looked at decides
        // whether "found" means keep (Regex) or drop (Exclude).
        var found = false;
        GrepRule last = _rules[0];
        foreach (var rule in _rules)
        {
            last = rule;
            found = rule.Matches(record);
            if (_operator == GrepLogicalOperator.Or ? found : !found)
            {
                break;
            }
        }

        var keep = last.Exclude ? !found : found;
        return keep ? RecordOutcome.Unchanged : RecordOutcome.Dropped;
    }

    private sealed class GrepRule
    {
        public GrepRule(RecordAccessor accessor, ValuePattern pattern, bool exclude)
        {
            Accessor = accessor;
            Pattern = pattern;
            Exclude = exclude;
        }

        public RecordAccessor Accessor { get; }

        public ValuePattern Pattern { get; }

        public bool Exclude { get; }

        public bool Matches(ReadOnlySpan<byte> record) =>
            Accessor.TryGetValue(record, out var value)
            && value.Kind == MsgpackKind.String
            && Pattern.IsMatch(value.Payload(record));
    }
}
