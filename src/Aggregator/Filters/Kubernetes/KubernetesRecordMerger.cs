using System.Buffers;
using System.Text;
using Gateway.Engine.Buffers;
using Gateway.Engine.Parsers;
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
        Parsed,
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
        var record = view.Record;
        var reader = new MessagePackReader(record);
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            writer.WriteRaw(view.Raw.Span);
            return true;
        }

        var count = reader.ReadMapHeader();
        var entriesStart = (int)reader.Consumed;
        var logIndex = -1;
        var logValueStart = 0;
        var stream = StreamKind.None;
        for (var i = 0; i < count; i++)
        {
            if (reader.NextMessagePackType == MessagePackType.String && reader.TryReadStringSpan(out var key))
            {
                if (stream == StreamKind.None && key.SequenceEqual("stream"u8))
                {
                    stream = Classify(ref reader);
                    continue;
                }

                if (logIndex < 0 && _options.MergeLog && key.SequenceEqual("log"u8))
                {
                    logIndex = i;
                    logValueStart = (int)reader.Consumed;
                }
            }
            else
            {
                reader.Skip();
            }

            reader.Skip();
        }

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
        var time = view.Time;
        var parsed = t_parsed ??= new PooledBufferWriter(1024);
        parsed.Reset();
        if (logIndex >= 0)
        {
            var valueReader = new MessagePackReader(record[logValueStart..]);
            var type = valueReader.NextMessagePackType;
            if (type == MessagePackType.Map)
            {
                status = MergeStatus.Map;
                mergedEntries = valueReader.ReadMapHeader();
            }
            else if (type == MessagePackType.String && valueReader.TryReadStringSpan(out var log))
            {
                status = Merge(log, parser, parsed, ref time);
                if (status == MergeStatus.Parsed)
                {
                    var parsedReader = new MessagePackReader(parsed.WrittenMemory);
                    mergedEntries = parsedReader.NextMessagePackType == MessagePackType.Map ? parsedReader.ReadMapHeader() : 0;
                }
            }
        }

        var merged = status is MergeStatus.Parsed or MergeStatus.Map;

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
        var copy = new MessagePackReader(record[entriesStart..]);
        for (var i = 0; i < count; i++)
        {
            if (i == logIndex && dropLog)
            {
                copy.Skip();
                copy.Skip();
                continue;
            }

            writer.WriteRaw(copy.ReadRaw());
            writer.WriteRaw(copy.ReadRaw());
        }

        if (merged && (_mergeLogKeyUtf8 is null || mergedEntries > 0))
        {
            if (_mergeLogKeyUtf8 is not null)
            {
                writer.WriteString(_mergeLogKeyUtf8);
                writer.WriteMapHeader(mergedEntries);
            }

            if (status == MergeStatus.Map)
            {
                var mapReader = new MessagePackReader(record[logValueStart..]);
                mapReader.ReadMapHeader();
                for (var i = 0; i < mergedEntries; i++)
                {
                    writer.WriteRaw(mapReader.ReadRaw());
                    writer.WriteRaw(mapReader.ReadRaw());
                }
            }
            else
            {
                WriteParsedEntries(ref writer, parsed.WrittenMemory, mergedEntries);
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

    private MergeStatus Merge(ReadOnlySpan<byte> log, IRecordParser? annotationParser, PooledBufferWriter parsed, ref EventTime time)
    {
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
            return MergeStatus.Parsed;
        }

        // The default: the log is a JSON object (flb_pack_json_recs, exactly one object at the root).
        return JsonMsgpack.TryConvertObject(log, parsed, ParserScratch.Current) ? MergeStatus.Parsed : MergeStatus.None;
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

    private static StreamKind Classify(ref MessagePackReader reader)
    {
        if (reader.NextMessagePackType != MessagePackType.String || !reader.TryReadStringSpan(out var value))
        {
            reader.Skip();
            return StreamKind.Unknown;
        }

        if (value.SequenceEqual("stdout"u8))
        {
            return StreamKind.Stdout;
        }

        return value.SequenceEqual("stderr"u8) ? StreamKind.Stderr : StreamKind.Unknown;
    }
}
