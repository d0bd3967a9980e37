using System.Buffers;
using System.Text;
using Gateway.Engine.Config;
using Gateway.Engine.Json;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// Fluent Bit's <c>nest</c> filter (plugins/filter_nest/nest.c).
/// <c>Operation nest</c>: the entries whose key matches a <c>Wildcard</c> (exact, or prefix when it ends in
/// <c>*</c>) move, in record order, into a new map appended under <c>Nest_under</c>; the other entries keep
/// their order before it. <c>Operation lift</c>: every entry whose key is <c>Nested_under</c> and whose value is a
/// map is replaced by that map's entries, appended after all the other entries. <c>Add_prefix</c> /
/// <c>Remove_prefix</c> rewrite the moved keys. Like Fluent Bit, neither operation removes duplicate keys.
/// </summary>
internal sealed class NestFilter : RecordFilter
{
    private readonly bool _lift;
    private readonly byte[] _key;
    private readonly Wildcard[] _wildcards;
    private readonly byte[] _prefix;
    private readonly bool _addPrefix;
    private readonly bool _removePrefix;

    private NestFilter(string name, bool lift, byte[] key, Wildcard[] wildcards, byte[] prefix, bool addPrefix, bool removePrefix)
        : base(name)
    {
        _lift = lift;
        _key = key;
        _wildcards = wildcards;
        _prefix = prefix;
        _addPrefix = addPrefix;
        _removePrefix = removePrefix;
    }

    public static NestFilter Create(ConfigSection section, string name)
    {
        bool? lift = null;
        string? key = null;
        string? prefix = null;
        ConfigEntry? addPrefix = null;
        ConfigEntry? removePrefix = null;
        var wildcards = new List<Wildcard>();
        foreach (var entry in section.Entries)
        {
            var k = entry.Key;
            if (k.Equals("Operation", StringComparison.OrdinalIgnoreCase))
            {
                // nest.c compares the first four characters, case-sensitively.
                lift = entry.Value.StartsWith("nest", StringComparison.Ordinal) ? false
                    : entry.Value.StartsWith("lift", StringComparison.Ordinal) ? true
                    : throw FilterOptions.Error(entry, $"Operation: '{entry.Value}' is not 'nest' or 'lift'");
            }
            else if (k.Equals("Wildcard", StringComparison.OrdinalIgnoreCase))
            {
                if (entry.Value.Length == 0)
                {
                    throw FilterOptions.Error(entry, "Wildcard: empty value");
                }

                var dynamic = entry.Value.EndsWith('*');
                wildcards.Add(new Wildcard(Encoding.UTF8.GetBytes(dynamic ? entry.Value[..^1] : entry.Value), dynamic));
            }
            else if (k.Equals("Nest_under", StringComparison.OrdinalIgnoreCase) || k.Equals("Nested_under", StringComparison.OrdinalIgnoreCase))
            {
                key = entry.Value;
            }
            else if (k.Equals("Add_prefix", StringComparison.OrdinalIgnoreCase) || k.Equals("Prefix_with", StringComparison.OrdinalIgnoreCase))
            {
                prefix = entry.Value;
                addPrefix = entry;
            }
            else if (k.Equals("Remove_prefix", StringComparison.OrdinalIgnoreCase))
            {
                prefix = entry.Value;
                removePrefix = entry;
            }
            else if (!FilterOptions.IsCommonKey(k))
            {
                throw FilterOptions.Error(entry, $"nest: unknown option '{k}' (expected Operation, Wildcard, Nest_under, Nested_under, Add_prefix, Remove_prefix)");
            }
        }

        if (addPrefix is not null && removePrefix is not null)
        {
            throw FilterOptions.Error(removePrefix, "nest: Add_prefix and Remove_prefix are exclusive");
        }

        if (lift is null)
        {
            throw FilterOptions.Error(section, "nest: Operation is required ('nest' or 'lift')");
        }

        if (key is null)
        {
            throw FilterOptions.Error(section, lift.Value ? "nest: Operation lift needs Nested_under" : "nest: Operation nest needs Nest_under");
        }

        if (!lift.Value && wildcards.Count == 0)
        {
            throw FilterOptions.Error(section, "nest: Operation nest needs at least one Wildcard");
        }

        return new NestFilter(
            name,
            lift.Value,
            Encoding.UTF8.GetBytes(key),
            [.. wildcards],
            Encoding.UTF8.GetBytes(prefix ?? string.Empty),
            addPrefix is not null,
            removePrefix is not null);
    }

    protected override RecordOutcome Process(string tag, ReadOnlySpan<byte> record, IBufferWriter<byte> newRecord)
    {
        var map = RecordMap.ForThread();
        if (!map.Scan(record))
        {
            return RecordOutcome.Unchanged;
        }

        return _lift ? Lift(record, map, newRecord) : Nest(record, map, newRecord);
    }

    private RecordOutcome Nest(ReadOnlySpan<byte> record, RecordMap map, IBufferWriter<byte> output)
    {
        var entries = map.Entries;
        var nested = 0;
        foreach (ref readonly var entry in entries)
        {
            if (IsToNest(record, entry))
            {
                nested++;
            }
        }

        if (nested == 0)
        {
            return RecordOutcome.Unchanged;
        }

        MsgpackCanonicalWriter.WriteMapHeader(output, entries.Length - nested + 1);
        var kept = new EntryRunCopier(record, output);
        foreach (ref readonly var entry in entries)
        {
            if (!IsToNest(record, entry))
            {
                kept.Add(entry);
            }
        }

        kept.Flush();

        MsgpackCanonicalWriter.WriteString(output, _key);
        MsgpackCanonicalWriter.WriteMapHeader(output, nested);
        foreach (ref readonly var entry in entries)
        {
            if (IsToNest(record, entry))
            {
                WriteKey(record, entry, output);
                RecordMap.CopyValue(record, entry, output);
            }
        }

        return RecordOutcome.Rewritten;
    }

    private RecordOutcome Lift(ReadOnlySpan<byte> record, RecordMap map, IBufferWriter<byte> output)
    {
        var entries = map.Entries;
        var lifted = 0;
        var liftedItems = 0;
        foreach (ref readonly var entry in entries)
        {
            if (IsToLift(record, entry))
            {
                lifted++;
                liftedItems += entry.ValueCount;
            }
        }

        if (lifted == 0)
        {
            return RecordOutcome.Unchanged;
        }

        MsgpackCanonicalWriter.WriteMapHeader(output, entries.Length - lifted + liftedItems);
        var kept = new EntryRunCopier(record, output);
        foreach (ref readonly var entry in entries)
        {
            if (!IsToLift(record, entry))
            {
                kept.Add(entry);
            }
        }

        kept.Flush();

        var inner = RecordMap.SecondForThread();
        foreach (ref readonly var entry in entries)
        {
            if (!IsToLift(record, entry))
            {
                continue;
            }

            inner.Scan(record, entry.ValueStart);
            foreach (ref readonly var innerEntry in inner.Entries)
            {
                WriteKey(record, innerEntry, output);
                RecordMap.CopyValue(record, innerEntry, output);
            }
        }

        return RecordOutcome.Rewritten;
    }

    private bool IsToNest(ReadOnlySpan<byte> record, in MapEntry entry)
    {
        if (!entry.HasTextKey)
        {
            return false;
        }

        var key = RecordMap.KeyBytes(record, entry);
        foreach (var wildcard in _wildcards)
        {
            if (wildcard.IsPrefix ? key.StartsWith(wildcard.Text) : key.SequenceEqual(wildcard.Text))
            {
                return true;
            }
        }

        return false;
    }

    private bool IsToLift(ReadOnlySpan<byte> record, in MapEntry entry) =>
        entry.HasTextKey && entry.ValueKind == MsgpackKind.Map && RecordMap.KeyBytes(record, entry).SequenceEqual(_key);

    /// <summary>helper_pack_key: string/binary keys get the prefix added or removed (written as strings).</summary>
    private void WriteKey(ReadOnlySpan<byte> record, in MapEntry entry, IBufferWriter<byte> output)
    {
        if (entry.HasTextKey && (_addPrefix || _removePrefix))
        {
            var key = RecordMap.KeyBytes(record, entry);
            if (_addPrefix)
            {
                MsgpackCanonicalWriter.WriteString(output, _prefix, key);
            }
            else
            {
                MsgpackCanonicalWriter.WriteString(output, key.StartsWith(_prefix) ? key[_prefix.Length..] : key);
            }

            return;
        }

        RecordMap.CopyKey(record, entry, output);
    }

    private readonly record struct Wildcard(byte[] Text, bool IsPrefix);
}
