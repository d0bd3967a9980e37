using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.Parsers;
using Gateway.Engine.RecordAccessor;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>
/// Writes one enriched record the way kubernetes.c pack_map_content does: the original keys in order (the
/// <c>log</c> key dropped when it was merged and Keep_Log is off), then the merged <c>log</c> content (at the root
/// or under Merge_Log_Key), then <c>kubernetes</c>, then <c>kubernetes_namespace</c>. Everything that is not
/// rewritten is copied as bytes; the parse scratch is per thread, so a record costs no allocation.
/// </summary>
internal sealed class KubernetesRecordMerger
{
    [ThreadStatic]
    private static PooledBufferWriter? t_parsed;

    private readonly KubernetesFilterOptions _options;
    private readonly IRecordParser? _mergeParser;
    private readonly byte[]? _mergeLogKeyUtf8;
    private readonly TimeProvider _clock;

    public KubernetesRecordMerger(KubernetesFilterOptions options, IRecordParser? mergeParser, TimeProvider clock)
    {
        _options = options;
        _mergeParser = mergeParser;
        _mergeLogKeyUtf8 = options.MergeLogKey is null ? null : Encoding.UTF8.GetBytes(options.MergeLogKey);
        _clock = clock;
    }

    private enum MergeStatus
    {
        NotTried,
        None,

        /// <summary>A parser's map (header included) in the scratch writer.</summary>
        Parsed,

        /// <summary>The JSON log's members, trimmed, without a map header, in the scratch writer.</summary>
        Members,

        /// <summary>The log value already is a map; its entries are copied from the record.</summary>
        Map,
    }

    private enum StreamKind
    {
        None,
        Stdout,
        Stderr,
        Unknown,
    }

    /// <summary>Writes the enriched event; false when the pod's annotations exclude it (nothing written).</summary>
    public bool Write(ref MessagePackWriter writer, in EventView view, ContainerMetadata meta, byte[]? namespaceMap)
    {
        // One walk over the record's top level by header bytes (MsgpackWalker), remembering where the log entry
        // is; the entries are then copied as one or two blocks rather than key by key.
        var record = view.Record.Span;
        if (record.IsEmpty || !TryReadMapHeader(record, 0, out var count, out var entriesStart))
        {
            writer.WriteRaw(view.Raw.Span);
            return true;
        }

        var position = entriesStart;
        var logIndex = -1;
        var logKeyStart = 0;
        var logValueStart = 0;
        var logEnd = 0;
        var stream = StreamKind.None;
        for (var i = 0; i < count; i++)
        {
            var keyStart = position;
            if (TryReadString(record, ref position, out var key))
            {
                if (stream == StreamKind.None && key.SequenceEqual("stream"u8))
                {
                    stream = Classify(record, ref position);
                    continue;
                }

                if (logIndex < 0 && _options.MergeLog && key.SequenceEqual("log"u8))
                {
                    logIndex = i;
                    logKeyStart = keyStart;
                    logValueStart = position;
                    position = MsgpackWalker.Skip(record, position);
                    logEnd = position;
                    continue;
                }
            }
            else
            {
                position = MsgpackWalker.Skip(record, position);
            }

            position = MsgpackWalker.Skip(record, position);
        }

        var entriesEnd = position;

        // kubernetes.c: exclusion and the annotation parser depend on the record's stream.
        IRecordParser? parser;
        switch (stream)
        {
            case StreamKind.Stdout:
                if (meta.StdoutExclude == ExcludeSetting.True)
                {
                    return false;
                }

                parser = meta.StdoutParser;
                break;
            case StreamKind.Stderr:
                if (meta.StderrExclude == ExcludeSetting.True)
                {
                    return false;
                }

                parser = meta.StderrParser;
                break;
            default:
                if (meta.StdoutExclude == ExcludeSetting.True && meta.StderrExclude == ExcludeSetting.True)
                {
                    return false;
                }

                parser = meta.StdoutParser is not null && meta.StdoutParser == meta.StderrParser ? meta.StdoutParser : null;
                break;
        }

        var status = MergeStatus.NotTried;
        var mergedEntries = 0;
        var mapEntriesStart = 0;
        var time = view.Time;
        var parsed = t_parsed ??= new PooledBufferWriter(1024);
        parsed.Reset();
        if (logIndex >= 0)
        {
            var valuePosition = logValueStart;
            if (TryReadMapHeader(record, logValueStart, out var entries, out mapEntriesStart))
            {
                status = MergeStatus.Map;
                mergedEntries = entries;
            }
            else if (TryReadString(record, ref valuePosition, out var log))
            {
                status = Merge(log, parser, parsed, ref time, out mergedEntries);
            }
        }

        var merged = status is MergeStatus.Parsed or MergeStatus.Members or MergeStatus.Map;

        // pack_map_content keeps the log key with Keep_Log Off only when merging failed (MERGE_NONE); a log that is
        // neither a string nor a map is never tried (merge status -1), so Fluent Bit drops it as it drops a merged one.
        var dropLog = logIndex >= 0 && !_options.KeepLog && status != MergeStatus.None;
        var total = count - (dropLog ? 1 : 0) + (meta.KubernetesMapMsgpack is null ? 0 : 1) + (namespaceMap is null ? 0 : 1);
        if (merged)
        {
            total += _mergeLogKeyUtf8 is null ? mergedEntries : (mergedEntries > 0 ? 1 : 0);
        }

        writer.WriteArrayHeader(2);
        if (view.Metadata.IsEmpty)
        {
            EventWriter.WriteTime(ref writer, time);
        }
        else
        {
            writer.WriteArrayHeader(2);
            EventWriter.WriteTime(ref writer, time);
            writer.WriteRaw(view.Metadata.Span);
        }

        writer.WriteMapHeader(total);
        if (dropLog)
        {
            writer.WriteRaw(record[entriesStart..logKeyStart]);
            writer.WriteRaw(record[logEnd..entriesEnd]);
        }
        else
        {
            writer.WriteRaw(record[entriesStart..entriesEnd]);
        }

        if (merged && (_mergeLogKeyUtf8 is null || mergedEntries > 0))
        {
            if (_mergeLogKeyUtf8 is not null)
            {
                writer.WriteString(_mergeLogKeyUtf8);
                writer.WriteMapHeader(mergedEntries);
            }

            switch (status)
            {
                case MergeStatus.Map:
                    writer.WriteRaw(record[mapEntriesStart..logEnd]);
                    break;
                case MergeStatus.Members:
                    writer.WriteRaw(parsed.WrittenSpan);
                    break;
                default:
                    WriteParsedEntries(ref writer, parsed.WrittenMemory, mergedEntries);
                    break;
            }
        }

        if (meta.KubernetesMapMsgpack is not null)
        {
            writer.Write("kubernetes");
            writer.WriteRaw(meta.KubernetesMapMsgpack);
        }
        if (namespaceMap is not null)
        {
            writer.Write("kubernetes_namespace");
            writer.WriteRaw(namespaceMap);
        }

        return true;
    }

    private MergeStatus Merge(ReadOnlySpan<byte> log, IRecordParser? annotationParser, PooledBufferWriter parsed, ref EventTime time, out int entries)
    {
        entries = 0;
        var selected = annotationParser ?? _mergeParser;
        if (selected is not null)
        {
            // Parsers take one line without its newline; Fluent Bit hands over the value as it is, and for
            // every format the trailing newline only ever ends the line.
            var line = log;
            if (line.Length > 0 && line[^1] == (byte)'\n')
            {
                line = line[..^1];
            }

            if (!selected.TryParse(line, parsed, out var parsedTime))
            {
                parsed.Reset();
                return MergeStatus.None;
            }

            // kubernetes.c merge_log_handler: a parser that yields no time stamps the record with the current time.
            time = parsedTime ?? EventTime.Now(_clock);
            var parsedReader = new MessagePackReader(parsed.WrittenMemory);
            entries = parsedReader.NextMessagePackType == MessagePackType.Map ? parsedReader.ReadMapHeader() : 0;
            return MergeStatus.Parsed;
        }

        // The default: the log is a JSON object (flb_pack_json_recs, exactly one object at the root).
        return TryConvertJsonMembers(log, parsed, out entries) ? MergeStatus.Members : MergeStatus.None;
    }

    /// <summary>
    /// The log's JSON object as msgpack key/value pairs, without the map header, with Merge_Log_Trim applied to
    /// top-level string values: one pass over the JSON (no member count up front, no second copy entry by entry),
    /// counting the members as they go. Same values as <see cref="JsonMsgpack.TryConvertObject"/>.
    /// </summary>
    private bool TryConvertJsonMembers(ReadOnlySpan<byte> json, PooledBufferWriter output, out int members)
    {
        members = 0;
        output.Reset();
        var scratch = ParserScratch.Current;
        try
        {
            var reader = new Utf8JsonReader(json, JsonMsgpack.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var writer = new MessagePackWriter(output);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                JsonMsgpack.WriteString(ref reader, ref writer, scratch);
                reader.Read();
                if (_options.MergeLogTrim && reader.TokenType == JsonTokenType.String)
                {
                    var value = JsonMsgpack.GetUnescaped(ref reader, scratch, second: false);
                    writer.WriteString(value[..TrimmedLength(value)]);
                }
                else
                {
                    JsonMsgpack.WriteValue(ref reader, ref writer, scratch);
                }

                members++;
            }

            writer.Flush();

            // A second value or trailing garbage makes Utf8JsonReader throw; trailing whitespace ends cleanly.
            if (reader.Read())
            {
                output.Reset();
                members = 0;
                return false;
            }

            return true;
        }
        catch (JsonException)
        {
            output.Reset();
            members = 0;
            return false;
        }
    }

    private void WriteParsedEntries(ref MessagePackWriter writer, ReadOnlyMemory<byte> parsed, int entries)
    {
        var reader = new MessagePackReader(parsed);
        reader.ReadMapHeader();
        for (var i = 0; i < entries; i++)
        {
            writer.WriteRaw(reader.ReadRaw());
            if (_options.MergeLogTrim && reader.NextMessagePackType == MessagePackType.String && reader.TryReadStringSpan(out var value))
            {
                writer.WriteString(value[..TrimmedLength(value)]);
            }
            else
            {
                writer.WriteRaw(reader.ReadRaw());
            }
        }
    }

    /// <summary>kubernetes.c value_trim_size: drops trailing newlines and literal <c>\n</c>/<c>\r</c> escapes.</summary>
    internal static int TrimmedLength(ReadOnlySpan<byte> value)
    {
        var size = value.Length;
        for (var i = size - 1; i > 0; i--)
        {
            if (value[i] == (byte)'\n')
            {
                size--;
                continue;
            }

            if (value[i - 1] == (byte)'\\' && (value[i] == (byte)'n' || value[i] == (byte)'r'))
            {
                size -= 2;
                i--;
            }
            else
            {
                break;
            }
        }

        return size;
    }

    private static StreamKind Classify(ReadOnlySpan<byte> record, ref int position)
    {
        if (!TryReadString(record, ref position, out var value))
        {
            position = MsgpackWalker.Skip(record, position);
            return StreamKind.Unknown;
        }

        if (value.SequenceEqual("stdout"u8))
        {
            return StreamKind.Stdout;
        }

        return value.SequenceEqual("stderr"u8) ? StreamKind.Stderr : StreamKind.Unknown;
    }

    /// <summary>Reads a str at <paramref name="position"/> and moves past it; false (position unchanged) for any other type.</summary>
    private static bool TryReadString(ReadOnlySpan<byte> buffer, ref int position, out ReadOnlySpan<byte> value)
    {
        value = default;
        var p = position;
        if ((uint)p >= (uint)buffer.Length)
        {
            throw new MsgpackFormatException("unexpected end of msgpack data", p);
        }

        var header = buffer[p];
        int length;
        int headerLength;
        if (header is >= 0xa0 and <= 0xbf)
        {
            length = header & 0x1f;
            headerLength = 1;
        }
        else if (header == 0xd9 && buffer.Length - p > 1)
        {
            length = buffer[p + 1];
            headerLength = 2;
        }
        else if (header == 0xda && buffer.Length - p > 2)
        {
            length = BinaryPrimitives.ReadUInt16BigEndian(buffer[(p + 1)..]);
            headerLength = 3;
        }
        else if (header == 0xdb && buffer.Length - p > 4)
        {
            length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(buffer[(p + 1)..]), int.MaxValue);
            headerLength = 5;
        }
        else
        {
            return false;
        }

        if (buffer.Length - p - headerLength < length)
        {
            throw new MsgpackFormatException("truncated msgpack str", p);
        }

        value = buffer.Slice(p + headerLength, length);
        position = p + headerLength + length;
        return true;
    }

    /// <summary>Reads a map header at <paramref name="position"/>; false for any other type.</summary>
    private static bool TryReadMapHeader(ReadOnlySpan<byte> buffer, int position, out int count, out int entriesStart)
    {
        count = 0;
        entriesStart = position;
        var header = buffer[position];
        if (header is >= 0x80 and <= 0x8f)
        {
            count = header & 0x0f;
            entriesStart = position + 1;
            return true;
        }

        if (header == 0xde && buffer.Length - position > 2)
        {
            count = BinaryPrimitives.ReadUInt16BigEndian(buffer[(position + 1)..]);
            entriesStart = position + 3;
            return true;
        }

        if (header == 0xdf && buffer.Length - position > 4)
        {
            count = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(buffer[(position + 1)..]), int.MaxValue);
            entriesStart = position + 5;
            return true;
        }

        return false;
    }
}
