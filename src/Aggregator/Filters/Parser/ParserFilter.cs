using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Gateway.Engine.Buffers;
using Gateway.Engine.Config;
using Gateway.Engine.Json;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.RecordAccessor;
using Gateway.Engine.Records;

namespace Gateway.Aggregator.Filters.Parser;

/// <summary>
/// Fluent Bit's <c>parser</c> filter (plugins/filter_parser/filter_parser.c). The first entry named
/// <c>Key_Name</c> whose value is a string is given to each <c>Parser</c> in order; the first that succeeds wins.
/// The record becomes the parsed fields; with <c>Reserve_Data</c> the original entries follow them in their order
/// (without <c>Key_Name</c> unless <c>Preserve_Key</c>). As in filter_parser.c, <c>Preserve_Key</c> only has an
/// effect together with <c>Reserve_Data</c>. When the parser read a time, the event takes it; otherwise the event
/// keeps its time. A record no parser accepts keeps its bytes. <c>Unescape_Key</c> is deprecated upstream and
/// accepted without effect.
/// </summary>
internal sealed class ParserFilter : IFilter
{
    [ThreadStatic]
    private static PooledBufferWriter? t_parsed;

    private readonly byte[] _keyName;
    private readonly IRecordParser[] _parsers;
    private readonly bool _preserveKey;
    private readonly bool _reserveData;

    private ParserFilter(string name, byte[] keyName, IRecordParser[] parsers, bool preserveKey, bool reserveData)
    {
        Name = name;
        _keyName = keyName;
        _parsers = parsers;
        _preserveKey = preserveKey;
        _reserveData = reserveData;
    }

    public string Name { get; }

    /// <exception cref="ConfigException">Missing Key_Name or Parser, an unknown parser, a bad boolean or an unknown option.</exception>
    public static ParserFilter Create(ConfigSection section, ParserRegistry registry, string name)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(registry);
        string? keyName = null;
        var parsers = new List<IRecordParser>();
        var preserveKey = false;
        var reserveData = false;
        foreach (var entry in section.Entries)
        {
            var k = entry.Key;
            if (k.Equals("Key_Name", StringComparison.OrdinalIgnoreCase))
            {
                keyName = entry.Value.Trim();
                if (keyName.Length == 0)
                {
                    throw FilterOptions.Error(entry, "parser: Key_Name is empty");
                }
            }
            else if (k.Equals("Parser", StringComparison.OrdinalIgnoreCase))
            {
                var parserName = entry.Value.Trim();
                if (!registry.TryGet(parserName, out var parser))
                {
                    throw FilterOptions.Error(entry, $"parser: unknown parser '{parserName}' (no [PARSER] with that Name)");
                }

                parsers.Add(parser);
            }
            else if (k.Equals("Preserve_Key", StringComparison.OrdinalIgnoreCase))
            {
                preserveKey = ParseBool(entry);
            }
            else if (k.Equals("Reserve_Data", StringComparison.OrdinalIgnoreCase))
            {
                reserveData = ParseBool(entry);
            }
            else if (k.Equals("Unescape_Key", StringComparison.OrdinalIgnoreCase))
            {
                // Deprecated in Fluent Bit (FLB_CONFIG_MAP_DEPRECATED): accepted, no effect.
            }
            else if (!FilterOptions.IsCommonKey(k))
            {
                throw FilterOptions.Error(entry, $"parser: unknown option '{k}' (expected Key_Name, Parser, Preserve_Key, Reserve_Data, Unescape_Key)");
            }
        }

        if (keyName is null)
        {
            throw FilterOptions.Error(section, "parser: Key_Name is required");
        }

        if (parsers.Count == 0)
        {
            throw FilterOptions.Error(section, "parser: at least one Parser is required");
        }

        return new ParserFilter(name, Encoding.UTF8.GetBytes(keyName), [.. parsers], preserveKey, reserveData);
    }

    public FilterOutcome Filter(EventChunk chunk, IBufferWriter<byte> output, out int outputEventCount)
    {
        var parsed = t_parsed ??= new PooledBufferWriter(16 * 1024);
        var map = RecordMap.ForThread();
        var events = chunk.Events.Span;
        var position = 0;
        var copiedUpTo = 0;
        var seen = 0;
        var rewritten = 0;
        while (position < events.Length)
        {
            var eventStart = position;
            int headerStart, recordStart, eventEnd;
            try
            {
                var cursor = new MsgpackCursor(events, position);
                var array = cursor.Read();
                if (array.Kind != MsgpackKind.Array || array.Length != 2)
                {
                    throw new EventFormatException($"event at offset {eventStart} is not a [time, record] array");
                }

                headerStart = cursor.Position;
                recordStart = MsgpackWalker.Skip(events, headerStart);
                eventEnd = MsgpackWalker.Skip(events, recordStart);
            }
            catch (MsgpackFormatException ex)
            {
                throw new EventFormatException($"event at offset {eventStart} is malformed: {ex.Message}", ex);
            }

            position = eventEnd;
            seen++;
            parsed.Reset();
            EventTime? time;
            try
            {
                if (!TryParseRecord(events[recordStart..eventEnd], map, parsed, out time))
                {
                    continue;
                }
            }
            catch (MsgpackFormatException ex)
            {
                throw new EventFormatException($"event at offset {eventStart} has a malformed record: {ex.Message}", ex);
            }

            rewritten++;
            if (eventStart > copiedUpTo)
            {
                output.Write(events[copiedUpTo..eventStart]);
            }

            copiedUpTo = eventEnd;
            if (time is { } parsedTime)
            {
                WriteHeaderWithTime(events, headerStart, recordStart, parsedTime, output);
            }
            else
            {
                output.Write(events[eventStart..recordStart]); // time and metadata bytes as they were
            }

            output.Write(parsed.WrittenSpan);
        }

        FilterMetrics.Chunk(Name, seen, rewritten, 0);
        outputEventCount = chunk.EventCount;
        if (rewritten == 0)
        {
            return FilterOutcome.NotTouched;
        }

        if (events.Length > copiedUpTo)
        {
            output.Write(events[copiedUpTo..]);
        }

        return FilterOutcome.Modified;
    }

    /// <summary>Writes the new record to <paramref name="newRecord"/> when a parser accepted the key's value.</summary>
    private bool TryParseRecord(ReadOnlySpan<byte> record, RecordMap map, PooledBufferWriter newRecord, out EventTime? time)
    {
        time = null;
        if (!map.Scan(record))
        {
            return false;
        }

        var entries = map.Entries;
        var keyIndex = -1;
        for (var i = 0; i < entries.Length; i++)
        {
            var entry = entries[i];
            if (!entry.HasTextKey || entry.ValueKind is not (MsgpackKind.String or MsgpackKind.Binary) ||
                !RecordMap.KeyBytes(record, entry).SequenceEqual(_keyName))
            {
                continue;
            }

            var value = record.Slice(entry.ValueOffset, entry.ValueLength);
            foreach (var parser in _parsers)
            {
                // The parsed map goes after its header, which is only known once the count is.
                if (parser.TryParse(value, newRecord, out time))
                {
                    keyIndex = i;
                    break;
                }
            }

            if (keyIndex >= 0)
            {
                break;
            }
        }

        if (keyIndex < 0)
        {
            return false;
        }

        if (!_reserveData)
        {
            return true;
        }

        // Reserve_Data: parsed entries first, then the original ones (flb_msgpack_expand_map), so re-pack the map
        // with the combined count. The parsed map is moved behind a new header via a rented copy.
        var parsedMap = newRecord.WrittenSpan;
        var rented = ArrayPool<byte>.Shared.Rent(parsedMap.Length);
        try
        {
            parsedMap.CopyTo(rented);
            var parsedCopy = rented.AsSpan(0, parsedMap.Length);
            var cursor = new MsgpackCursor(parsedCopy);
            var header = cursor.Read();
            var parsedEntriesStart = cursor.Position;
            var kept = _preserveKey ? entries.Length : entries.Length - 1;
            newRecord.Reset();
            MsgpackCanonicalWriter.WriteMapHeader(newRecord, header.Length + kept);
            newRecord.Write(parsedCopy[parsedEntriesStart..]);
            var copier = new EntryRunCopier(record, newRecord);
            for (var i = 0; i < entries.Length; i++)
            {
                if (_preserveKey || i != keyIndex)
                {
                    copier.Add(entries[i]);
                }
            }

            copier.Flush();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return true;
    }

    /// <summary>Writes <c>[time, </c> or <c>[[time, metadata], </c> with the parsed time and the original metadata.</summary>
    private static void WriteHeaderWithTime(ReadOnlySpan<byte> events, int headerStart, int recordStart, EventTime time, IBufferWriter<byte> output)
    {
        MsgpackCanonicalWriter.WriteArrayHeader(output, 2);
        var headerCursor = new MsgpackCursor(events, headerStart);
        var header = headerCursor.Read();
        var isV2 = header.Kind == MsgpackKind.Array;
        if (isV2)
        {
            MsgpackCanonicalWriter.WriteArrayHeader(output, header.Length);
        }

        // EventTime: fixext8, ext type 0, seconds and nanoseconds big-endian.
        var span = output.GetSpan(10);
        span[0] = 0xd7;
        span[1] = 0x00;
        BinaryPrimitives.WriteUInt32BigEndian(span[2..], time.Seconds);
        BinaryPrimitives.WriteUInt32BigEndian(span[6..], time.Nanoseconds);
        output.Advance(10);
        if (isV2)
        {
            var afterTime = MsgpackWalker.Skip(events, headerCursor.Position);
            output.Write(events[afterTime..recordStart]); // metadata (and any further header elements) as they were
        }
    }

    private static bool ParseBool(ConfigEntry entry) => entry.Value.Trim().ToLowerInvariant() switch
    {
        "on" or "true" or "yes" or "1" => true,
        "off" or "false" or "no" or "0" => false,
        _ => throw FilterOptions.Error(entry, $"{entry.Key}: expected On or Off, got '{entry.Value}'"),
    };
}
