using System.Buffers;
using System.Text;
using Gateway.Engine.Buffers;
using Gateway.Engine.Config;
using Gateway.Engine.Json;
using Gateway.Engine.RecordAccessor;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// Fluent Bit's <c>modify</c> filter (plugins/filter_modify/modify.c). When every <c>Condition</c> holds for the
/// original record, the rules run in config order, each on the previous rule's result, with modify.c's exact
/// effects on key order: <c>Set</c> drops existing KEY entries and appends KEY at the end; <c>Add</c> appends
/// only if KEY is absent; <c>Rename</c>/<c>Hard_rename</c> rename in place (Hard_rename first drops entries
/// already named like the target); <c>Copy</c>/<c>Hard_copy</c> insert the copy right after the source;
/// <c>Remove</c>, <c>Remove_wildcard</c> (key prefix, taken literally) and <c>Remove_regex</c> drop entries;
/// <c>Move_to_start</c>/<c>Move_to_end</c> move entries whose key starts with the given text.
/// </summary>
internal sealed class ModifyFilter : RecordFilter
{
    [ThreadStatic]
    private static PooledBufferWriter? t_first;

    [ThreadStatic]
    private static PooledBufferWriter? t_second;

    private readonly ModifyCondition[] _conditions;
    private readonly ModifyRule[] _rules;

    private ModifyFilter(string name, ModifyCondition[] conditions, ModifyRule[] rules)
        : base(name)
    {
        _conditions = conditions;
        _rules = rules;
    }

    public static ModifyFilter Create(ConfigSection section, string name)
    {
        var conditions = new List<ModifyCondition>();
        var rules = new List<ModifyRule>();
        foreach (var entry in section.Entries)
        {
            if (FilterOptions.IsCommonKey(entry.Key))
            {
                continue;
            }

            var args = FilterOptions.SplitQuoted(entry);
            if (args.Count == 0 || args.Count > 3)
            {
                throw FilterOptions.Error(entry, $"{entry.Key}: invalid value '{entry.Value}'");
            }

            if (entry.Key.Equals("Condition", StringComparison.OrdinalIgnoreCase))
            {
                conditions.Add(ModifyCondition.Create(entry, args));
            }
            else
            {
                rules.Add(ModifyRule.Create(entry, args));
            }
        }

        return new ModifyFilter(name, [.. conditions], [.. rules]);
    }

    protected override RecordOutcome Process(string tag, ReadOnlySpan<byte> record, IBufferWriter<byte> newRecord)
    {
        foreach (var condition in _conditions)
        {
            if (!condition.IsMet(record))
            {
                return RecordOutcome.Unchanged;
            }
        }

        var first = t_first ??= new PooledBufferWriter(16 * 1024);
        var second = t_second ??= new PooledBufferWriter(16 * 1024);
        PooledBufferWriter? current = null;
        foreach (var rule in _rules)
        {
            var source = current is null ? record : current.WrittenSpan;
            var target = ReferenceEquals(current, first) ? second : first;
            target.Reset();
            if (rule.Apply(source, target))
            {
                current = target;
            }
        }

        if (current is null)
        {
            return RecordOutcome.Unchanged;
        }

        newRecord.Write(current.WrittenSpan);
        return RecordOutcome.Rewritten;
    }
}

internal enum ModifyRuleKind
{
    Set,
    Add,
    Remove,
    RemoveWildcard,
    RemoveRegex,
    MoveToStart,
    MoveToEnd,
    Rename,
    HardRename,
    Copy,
    HardCopy,
}

/// <summary>One modify rule; <see cref="Apply"/> writes the changed map and returns true, or returns false (NOTOUCH).</summary>
internal sealed class ModifyRule
{
    private readonly ModifyRuleKind _kind;
    private readonly byte[] _key;
    private readonly byte[] _value;
    private readonly ValuePattern? _keyRegex;

    private ModifyRule(ModifyRuleKind kind, byte[] key, byte[] value, ValuePattern? keyRegex)
    {
        _kind = kind;
        _key = key;
        _value = value;
        _keyRegex = keyRegex;
    }

    public static ModifyRule Create(ConfigEntry entry, List<string> args)
    {
        var name = entry.Key.ToUpperInvariant();
        (ModifyRuleKind Kind, int Args) spec = name switch
        {
            "REMOVE" => (ModifyRuleKind.Remove, 1),
            "REMOVE_WILDCARD" => (ModifyRuleKind.RemoveWildcard, 1),
            "REMOVE_REGEX" => (ModifyRuleKind.RemoveRegex, 1),
            "MOVE_TO_START" => (ModifyRuleKind.MoveToStart, 1),
            "MOVE_TO_END" => (ModifyRuleKind.MoveToEnd, 1),
            "RENAME" => (ModifyRuleKind.Rename, 2),
            "HARD_RENAME" => (ModifyRuleKind.HardRename, 2),
            "ADD" or "ADD_IF_NOT_PRESENT" => (ModifyRuleKind.Add, 2),
            "SET" => (ModifyRuleKind.Set, 2),
            "COPY" => (ModifyRuleKind.Copy, 2),
            "HARD_COPY" => (ModifyRuleKind.HardCopy, 2),
            _ => throw FilterOptions.Error(entry, $"modify: unknown operation '{entry.Key}'"),
        };

        if (args.Count != spec.Args)
        {
            throw FilterOptions.Error(entry, spec.Args == 1
                ? $"{entry.Key}: expects one KEY, got '{entry.Value}'"
                : $"{entry.Key}: expects KEY and VALUE, got '{entry.Value}'");
        }

        if (args[0].Length == 0)
        {
            throw FilterOptions.Error(entry, $"{entry.Key}: empty key");
        }

        var regex = spec.Kind == ModifyRuleKind.RemoveRegex ? ValuePattern.Create(entry, args[0]) : null;
        return new ModifyRule(spec.Kind, Encoding.UTF8.GetBytes(args[0]), Encoding.UTF8.GetBytes(args[^1]), regex);
    }

    public bool Apply(ReadOnlySpan<byte> record, IBufferWriter<byte> output)
    {
        var map = RecordMap.ForThread();
        if (!map.Scan(record))
        {
            return false;
        }

        var entries = map.Entries;
        switch (_kind)
        {
            case ModifyRuleKind.Rename:
            case ModifyRuleKind.HardRename:
            {
                var matches = Count(record, entries, _key);
                if (matches == 0)
                {
                    return false;
                }

                var conflicts = Count(record, entries, _value);
                if (conflicts > 0 && _kind == ModifyRuleKind.Rename)
                {
                    return false;
                }

                MsgpackCanonicalWriter.WriteMapHeader(output, entries.Length - conflicts);
                foreach (ref readonly var entry in entries)
                {
                    if (conflicts > 0 && KeyIs(record, entry, _value))
                    {
                        continue; // hard_rename: the old target goes away
                    }

                    if (KeyIs(record, entry, _key))
                    {
                        MsgpackCanonicalWriter.WriteString(output, _value);
                    }
                    else
                    {
                        RecordMap.CopyKey(record, entry, output);
                    }

                    RecordMap.CopyValue(record, entry, output);
                }

                return true;
            }

            case ModifyRuleKind.Copy:
            case ModifyRuleKind.HardCopy:
            {
                var matches = Count(record, entries, _key);
                var conflicts = Count(record, entries, _value);
                if (matches != 1 || (_kind == ModifyRuleKind.Copy ? conflicts > 0 : conflicts > 1))
                {
                    return false;
                }

                MsgpackCanonicalWriter.WriteMapHeader(output, entries.Length + 1 - conflicts);
                foreach (ref readonly var entry in entries)
                {
                    if (conflicts > 0 && KeyIs(record, entry, _value))
                    {
                        continue;
                    }

                    RecordMap.CopyEntry(record, entry, output);
                    if (KeyIs(record, entry, _key))
                    {
                        MsgpackCanonicalWriter.WriteString(output, _value);
                        RecordMap.CopyValue(record, entry, output);
                    }
                }

                return true;
            }

            case ModifyRuleKind.Add:
                if (Count(record, entries, _key) > 0)
                {
                    return false;
                }

                MsgpackCanonicalWriter.WriteMapHeader(output, entries.Length + 1);
                CopyAll(record, entries, output);
                WriteKeyValue(output);
                return true;

            case ModifyRuleKind.Set:
            {
                var matches = Count(record, entries, _key);
                MsgpackCanonicalWriter.WriteMapHeader(output, entries.Length - matches + 1);
                var kept = new EntryRunCopier(record, output);
                foreach (ref readonly var entry in entries)
                {
                    if (!KeyIs(record, entry, _key))
                    {
                        kept.Add(entry);
                    }
                }

                kept.Flush();

                WriteKeyValue(output);
                return true;
            }

            case ModifyRuleKind.Remove:
            case ModifyRuleKind.RemoveWildcard:
            case ModifyRuleKind.RemoveRegex:
            {
                var matches = 0;
                foreach (ref readonly var entry in entries)
                {
                    if (Selects(record, entry))
                    {
                        matches++;
                    }
                }

                if (matches == 0)
                {
                    return false;
                }

                MsgpackCanonicalWriter.WriteMapHeader(output, entries.Length - matches);
                var kept = new EntryRunCopier(record, output);
                foreach (ref readonly var entry in entries)
                {
                    if (!Selects(record, entry))
                    {
                        kept.Add(entry);
                    }
                }

                kept.Flush();

                return true;
            }

            case ModifyRuleKind.MoveToStart:
            case ModifyRuleKind.MoveToEnd:
            {
                var matches = 0;
                foreach (ref readonly var entry in entries)
                {
                    if (Selects(record, entry))
                    {
                        matches++;
                    }
                }

                if (matches == 0)
                {
                    return false;
                }

                var selectedFirst = _kind == ModifyRuleKind.MoveToStart;
                MsgpackCanonicalWriter.WriteMapHeader(output, entries.Length);
                foreach (var pass in (ReadOnlySpan<bool>)[selectedFirst, !selectedFirst])
                {
                    foreach (ref readonly var entry in entries)
                    {
                        if (Selects(record, entry) == pass)
                        {
                            RecordMap.CopyEntry(record, entry, output);
                        }
                    }
                }

                return true;
            }

            default:
                return false;
        }
    }

    private static void CopyAll(ReadOnlySpan<byte> record, ReadOnlySpan<MapEntry> entries, IBufferWriter<byte> output)
    {
        if (entries.Length > 0)
        {
            MsgpackCanonicalWriter.CopyRange(record, entries[0].KeyStart, entries[^1].End, output);
        }
    }

    private void WriteKeyValue(IBufferWriter<byte> output)
    {
        MsgpackCanonicalWriter.WriteString(output, _key);
        MsgpackCanonicalWriter.WriteString(output, _value);
    }

    /// <summary>The entries Remove / Remove_wildcard / Remove_regex / Move_* act on.</summary>
    private bool Selects(ReadOnlySpan<byte> record, in MapEntry entry) => _kind switch
    {
        ModifyRuleKind.Remove => KeyIs(record, entry, _key),
        ModifyRuleKind.RemoveRegex => ModifyMatch.KeyMatches(record, entry, _keyRegex!),
        _ => entry.HasTextKey && RecordMap.KeyBytes(record, entry).StartsWith(_key),
    };

    private static bool KeyIs(ReadOnlySpan<byte> record, in MapEntry entry, ReadOnlySpan<byte> key) =>
        entry.HasTextKey && RecordMap.KeyBytes(record, entry).SequenceEqual(key);

    private static int Count(ReadOnlySpan<byte> record, ReadOnlySpan<MapEntry> entries, ReadOnlySpan<byte> key)
    {
        var count = 0;
        foreach (ref readonly var entry in entries)
        {
            if (KeyIs(record, entry, key))
            {
                count++;
            }
        }

        return count;
    }
}

internal enum ModifyConditionKind
{
    KeyExists,
    KeyDoesNotExist,
    AKeyMatches,
    NoKeyMatches,
    KeyValueEquals,
    KeyValueDoesNotEqual,
    KeyValueMatches,
    KeyValueDoesNotMatch,
    MatchingKeysHaveMatchingValues,
    MatchingKeysDoNotHaveMatchingValues,
}

/// <summary>One modify <c>Condition</c>; KEY arguments are record accessors (<c>$a['b']</c> or a plain name).</summary>
internal sealed class ModifyCondition
{
    private readonly ModifyConditionKind _kind;
    private readonly RecordAccessor? _key;
    private readonly ValuePattern? _keyRegex;
    private readonly byte[] _value;
    private readonly ValuePattern? _valueRegex;

    private ModifyCondition(ModifyConditionKind kind, RecordAccessor? key, ValuePattern? keyRegex, byte[] value, ValuePattern? valueRegex)
    {
        _kind = kind;
        _key = key;
        _keyRegex = keyRegex;
        _value = value;
        _valueRegex = valueRegex;
    }

    public static ModifyCondition Create(ConfigEntry entry, List<string> args)
    {
        var kind = args[0].ToUpperInvariant() switch
        {
            "KEY_EXISTS" => ModifyConditionKind.KeyExists,
            "KEY_DOES_NOT_EXIST" => ModifyConditionKind.KeyDoesNotExist,
            "A_KEY_MATCHES" => ModifyConditionKind.AKeyMatches,
            "NO_KEY_MATCHES" => ModifyConditionKind.NoKeyMatches,
            "KEY_VALUE_EQUALS" => ModifyConditionKind.KeyValueEquals,
            "KEY_VALUE_DOES_NOT_EQUAL" => ModifyConditionKind.KeyValueDoesNotEqual,
            "KEY_VALUE_MATCHES" => ModifyConditionKind.KeyValueMatches,
            "KEY_VALUE_DOES_NOT_MATCH" => ModifyConditionKind.KeyValueDoesNotMatch,
            "MATCHING_KEYS_HAVE_MATCHING_VALUES" => ModifyConditionKind.MatchingKeysHaveMatchingValues,
            "MATCHING_KEYS_DO_NOT_HAVE_MATCHING_VALUES" => ModifyConditionKind.MatchingKeysDoNotHaveMatchingValues,
            _ => throw FilterOptions.Error(entry, $"Condition: unknown condition '{args[0]}'"),
        };

        var needsValue = kind >= ModifyConditionKind.KeyValueEquals;
        if (args.Count != (needsValue ? 3 : 2))
        {
            throw FilterOptions.Error(entry, needsValue
                ? $"Condition {args[0]}: expects KEY and VALUE, got '{entry.Value}'"
                : $"Condition {args[0]}: expects one KEY, got '{entry.Value}'");
        }

        var keyIsRegex = kind is ModifyConditionKind.AKeyMatches or ModifyConditionKind.NoKeyMatches
            or ModifyConditionKind.MatchingKeysHaveMatchingValues or ModifyConditionKind.MatchingKeysDoNotHaveMatchingValues;
        var valueIsRegex = kind is ModifyConditionKind.KeyValueMatches or ModifyConditionKind.KeyValueDoesNotMatch
            or ModifyConditionKind.MatchingKeysHaveMatchingValues or ModifyConditionKind.MatchingKeysDoNotHaveMatchingValues;
        var value = needsValue ? args[2] : string.Empty;
        return new ModifyCondition(
            kind,
            keyIsRegex ? null : FilterOptions.ParseAccessor(entry, args[1]),
            keyIsRegex ? ValuePattern.Create(entry, args[1]) : null,
            Encoding.UTF8.GetBytes(value),
            valueIsRegex ? ValuePattern.Create(entry, value) : null);
    }

    public bool IsMet(ReadOnlySpan<byte> record)
    {
        switch (_kind)
        {
            case ModifyConditionKind.KeyExists:
                return _key!.TryGetValue(record, out _);
            case ModifyConditionKind.KeyDoesNotExist:
                return !_key!.TryGetValue(record, out _);
            case ModifyConditionKind.KeyValueEquals:
                return _key!.TryGetValue(record, out var v1) && ValueEquals(record, v1);
            case ModifyConditionKind.KeyValueDoesNotEqual:
                return _key!.TryGetValue(record, out var v2) && !ValueEquals(record, v2);
            case ModifyConditionKind.KeyValueMatches:
                return _key!.TryGetValue(record, out var v3) && ModifyMatch.ValueMatches(record, v3, _valueRegex!);
            case ModifyConditionKind.KeyValueDoesNotMatch:
                return _key!.TryGetValue(record, out var v4) && !ModifyMatch.ValueMatches(record, v4, _valueRegex!);
        }

        var map = RecordMap.ForThread();
        if (!map.Scan(record))
        {
            return false;
        }

        switch (_kind)
        {
            case ModifyConditionKind.AKeyMatches:
            case ModifyConditionKind.NoKeyMatches:
                var any = false;
                foreach (ref readonly var entry in map.Entries)
                {
                    if (ModifyMatch.KeyMatches(record, entry, _keyRegex!))
                    {
                        any = true;
                        break;
                    }
                }

                return any == (_kind == ModifyConditionKind.AKeyMatches);
            default:
                var all = true;
                foreach (ref readonly var entry in map.Entries)
                {
                    if (ModifyMatch.KeyMatches(record, entry, _keyRegex!) && !ModifyMatch.ValueMatches(record, entry, _valueRegex!))
                    {
                        all = false;
                        break;
                    }
                }

                return all == (_kind == ModifyConditionKind.MatchingKeysHaveMatchingValues);
        }
    }

    /// <summary>helper_msgpack_object_matches_str: a string or binary value with exactly these bytes.</summary>
    private bool ValueEquals(ReadOnlySpan<byte> record, in MsgpackValueRef value) =>
        value.Kind is MsgpackKind.String or MsgpackKind.Binary && value.Payload(record).SequenceEqual(_value);
}

/// <summary>modify.c's helper_msgpack_object_matches_regex: strings, and booleans as "true"/"false".</summary>
internal static class ModifyMatch
{
    public static bool KeyMatches(ReadOnlySpan<byte> record, in MapEntry entry, ValuePattern regex) => entry.KeyKind switch
    {
        MsgpackKind.String => regex.IsMatch(record.Slice(entry.KeyOffset, entry.KeyLength)),
        MsgpackKind.Boolean => regex.IsMatch(entry.KeyBoolean ? "true"u8 : "false"u8),
        _ => false,
    };

    public static bool ValueMatches(ReadOnlySpan<byte> record, in MapEntry entry, ValuePattern regex) => entry.ValueKind switch
    {
        MsgpackKind.String => regex.IsMatch(record.Slice(entry.ValueOffset, entry.ValueLength)),
        MsgpackKind.Boolean => regex.IsMatch(entry.ValueBoolean ? "true"u8 : "false"u8),
        _ => false,
    };

    public static bool ValueMatches(ReadOnlySpan<byte> record, in MsgpackValueRef value, ValuePattern regex) => value.Kind switch
    {
        MsgpackKind.String => regex.IsMatch(value.Payload(record)),
        MsgpackKind.Boolean => regex.IsMatch(value.Token.Boolean ? "true"u8 : "false"u8),
        _ => false,
    };
}
