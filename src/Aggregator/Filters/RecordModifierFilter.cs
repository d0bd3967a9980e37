using System.Buffers;
using System.Text;
using Gateway.Engine.Config;
using Gateway.Engine.Json;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// Fluent Bit's <c>record_modifier</c> filter (plugins/filter_record_modifier/filter_modifier.c).
/// <c>Remove_key</c> drops matching keys; <c>Allowlist_key</c> (old name <c>Whitelist_key</c>) keeps only
/// matching keys; the two are exclusive. Matching is case-insensitive, exact, or by prefix when the name ends in
/// <c>*</c>. Then every <c>Record KEY VALUE</c> is appended (even if KEY exists), then <c>Uuid_key</c> with a
/// random UUID v4. A record left with no entries at all is dropped, as Fluent Bit does.
/// </summary>
internal sealed class RecordModifierFilter : RecordFilter
{
    private readonly KeyPattern[] _keys;
    private readonly bool _keysAreRemoved;
    private readonly (byte[] Key, byte[] Value)[] _records;
    private readonly byte[]? _uuidKey;

    private RecordModifierFilter(string name, KeyPattern[] keys, bool keysAreRemoved, (byte[], byte[])[] records, byte[]? uuidKey)
        : base(name)
    {
        _keys = keys;
        _keysAreRemoved = keysAreRemoved;
        _records = records;
        _uuidKey = uuidKey;
    }

    public static RecordModifierFilter Create(ConfigSection section, string name)
    {
        var remove = new List<KeyPattern>();
        var allow = new List<KeyPattern>();
        var records = new List<(byte[], byte[])>();
        byte[]? uuidKey = null;
        ConfigEntry? firstAllow = null;
        foreach (var entry in section.Entries)
        {
            var k = entry.Key;
            if (k.Equals("Remove_key", StringComparison.OrdinalIgnoreCase))
            {
                remove.Add(KeyPattern.From(entry));
            }
            else if (k.Equals("Allowlist_key", StringComparison.OrdinalIgnoreCase) || k.Equals("Whitelist_key", StringComparison.OrdinalIgnoreCase))
            {
                firstAllow ??= entry;
                allow.Add(KeyPattern.From(entry));
            }
            else if (k.Equals("Record", StringComparison.OrdinalIgnoreCase))
            {
                if (!FilterOptions.TrySplitFirst(entry.Value, out var key, out var value))
                {
                    throw FilterOptions.Error(entry, $"Record: expected 'KEY VALUE', got '{entry.Value}'");
                }

                records.Add((Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(value)));
            }
            else if (k.Equals("Uuid_key", StringComparison.OrdinalIgnoreCase))
            {
                uuidKey = Encoding.UTF8.GetBytes(entry.Value.Trim());
            }
            else if (!FilterOptions.IsCommonKey(k))
            {
                throw FilterOptions.Error(entry, $"record_modifier: unknown option '{k}' (expected Record, Remove_key, Allowlist_key, Whitelist_key, Uuid_key)");
            }
        }

        if (remove.Count > 0 && firstAllow is not null)
        {
            throw FilterOptions.Error(firstAllow, "record_modifier: Remove_key and Allowlist_key/Whitelist_key are exclusive");
        }

        return remove.Count > 0
            ? new RecordModifierFilter(name, [.. remove], true, [.. records], uuidKey)
            : new RecordModifierFilter(name, [.. allow], false, [.. records], uuidKey);
    }

    protected override RecordOutcome Process(string tag, ReadOnlySpan<byte> record, IBufferWriter<byte> newRecord)
    {
        var map = RecordMap.ForThread();
        if (!map.Scan(record))
        {
            return RecordOutcome.Unchanged;
        }

        var entries = map.Entries;
        var removed = 0;
        Span<bool> stackFlags = stackalloc bool[64];
        bool[]? rented = null;
        var removedFlags = entries.Length <= stackFlags.Length ? stackFlags[..entries.Length] : (rented = ArrayPool<bool>.Shared.Rent(entries.Length)).AsSpan(0, entries.Length);
        try
        {
            if (_keys.Length > 0)
            {
                for (var i = 0; i < entries.Length; i++)
                {
                    removedFlags[i] = IsRemoved(record, entries[i]);
                    if (removedFlags[i])
                    {
                        removed++;
                    }
                }
            }

            var added = _records.Length + (_uuidKey is null ? 0 : 1);
            if (removed == 0 && added == 0)
            {
                return RecordOutcome.Unchanged;
            }

            var size = entries.Length - removed + added;
            if (size <= 0)
            {
                return RecordOutcome.Dropped;
            }

            MsgpackCanonicalWriter.WriteMapHeader(newRecord, size);
            var kept = new EntryRunCopier(record, newRecord);
            for (var i = 0; i < entries.Length; i++)
            {
                if (removed == 0 || !removedFlags[i])
                {
                    kept.Add(entries[i]);
                }
            }

            kept.Flush();
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<bool>.Shared.Return(rented);
            }
        }

        foreach (var (key, value) in _records)
        {
            MsgpackCanonicalWriter.WriteString(newRecord, key);
            MsgpackCanonicalWriter.WriteString(newRecord, value);
        }

        if (_uuidKey is not null)
        {
            MsgpackCanonicalWriter.WriteString(newRecord, _uuidKey);
            Span<byte> uuid = stackalloc byte[36];
            Guid.NewGuid().TryFormat(uuid, out var written, "D");
            MsgpackCanonicalWriter.WriteString(newRecord, uuid[..written]);
        }

        return RecordOutcome.Rewritten;
    }

    private bool IsRemoved(ReadOnlySpan<byte> record, in MapEntry entry)
    {
        var matched = false;
        if (entry.HasTextKey)
        {
            var key = RecordMap.KeyBytes(record, entry);
            foreach (var pattern in _keys)
            {
                if (pattern.Matches(key))
                {
                    matched = true;
                    break;
                }
            }
        }

        return matched == _keysAreRemoved;
    }

    private readonly record struct KeyPattern(byte[] Text, bool IsPrefix)
    {
        public static KeyPattern From(ConfigEntry entry)
        {
            var value = entry.Value.Trim();
            if (value.Length == 0)
            {
                throw FilterOptions.Error(entry, $"{entry.Key}: empty key name");
            }

            var prefix = value.EndsWith('*');
            return new KeyPattern(Encoding.UTF8.GetBytes(prefix ? value[..^1] : value), prefix);
        }

        /// <summary>make_bool_map: exact length (or at least the prefix length) and strncasecmp.</summary>
        public bool Matches(ReadOnlySpan<byte> key)
        {
            if (IsPrefix ? key.Length < Text.Length : key.Length != Text.Length)
            {
                return false;
            }

            for (var i = 0; i < Text.Length; i++)
            {
                if (ToLowerAscii(key[i]) != ToLowerAscii(Text[i]))
                {
                    return false;
                }
            }

            return true;
        }

        private static byte ToLowerAscii(byte b) => b is >= (byte)'A' and <= (byte)'Z' ? (byte)(b | 0x20) : b;
    }
}
