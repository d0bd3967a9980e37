using System.Buffers;
using System.Buffers.Text;
using Gateway.Engine.Records;

namespace Gateway.Engine.Json;

/// <summary>How records of a chunk are laid out, as Fluent Bit's <c>Format json|json_lines|json_stream</c>.</summary>
internal enum JsonRecordLayout
{
    /// <summary>One JSON array of records.</summary>
    Json,

    /// <summary>One record per line, each followed by <c>\n</c>.</summary>
    JsonLines,

    /// <summary>Records back to back with no separator.</summary>
    JsonStream,
}

/// <summary>Fluent Bit's <c>json_date_format</c> values.</summary>
internal enum JsonDateFormat
{
    /// <summary><c>double</c>: seconds as a JSON number.</summary>
    Double,

    /// <summary><c>iso8601</c>: <c>2024-01-02T03:04:05.678901Z</c>.</summary>
    Iso8601,

    /// <summary><c>java_sql_timestamp</c>: <c>2024-01-02 03:04:05.678901</c>.</summary>
    JavaSqlTimestamp,

    /// <summary><c>epoch</c>: whole seconds.</summary>
    Epoch,

    /// <summary><c>epoch_ms</c> (also <c>epoch_millis</c>, <c>epoch_milliseconds</c>).</summary>
    EpochMilliseconds,
}

/// <summary>
/// Renders events as JSON objects the way Fluent Bit's <c>flb_pack_msgpack_to_json_format</c> does (used by stdout,
/// http, S3, CloudWatch-style outputs): the date key first, then <c>__internal__.log_metadata</c> when the event
/// carries v2 metadata, then the record's own keys. A record key equal to a synthetic one wins, because Fluent
/// Bit keeps the last of repeated keys.
/// </summary>
internal sealed class JsonRecordFormatter
{
    private readonly byte[]? _dateKey;
    private readonly FluentJsonFlags _flags;

    public JsonRecordFormatter(JsonRecordLayout layout, JsonDateFormat dateFormat, string? dateKey, FluentJsonFlags flags = FluentJsonFlags.None)
    {
        Layout = layout;
        DateFormat = dateFormat;
        _dateKey = dateKey is null ? null : System.Text.Encoding.UTF8.GetBytes(dateKey);
        _flags = flags;
    }

    public JsonRecordLayout Layout { get; }

    public JsonDateFormat DateFormat { get; }

    /// <summary>Parses a <c>json_date_format</c> value; null when unknown.</summary>
    public static JsonDateFormat? ParseDateFormat(string value) => value.ToLowerInvariant() switch
    {
        "double" => JsonDateFormat.Double,
        "iso8601" => JsonDateFormat.Iso8601,
        "java_sql_timestamp" => JsonDateFormat.JavaSqlTimestamp,
        "epoch" => JsonDateFormat.Epoch,
        "epoch_ms" or "epoch_millis" or "epoch_milliseconds" => JsonDateFormat.EpochMilliseconds,
        _ => null,
    };

    /// <summary>Writes every event of a chunk in the configured layout; returns the number of records written.</summary>
    /// <exception cref="EventFormatException">The chunk holds a malformed event.</exception>
    /// <exception cref="MsgpackFormatException">A record holds malformed msgpack.</exception>
    public int WriteChunk(ReadOnlyMemory<byte> events, IBufferWriter<byte> output)
    {
        var reader = new EventReader(events);
        var count = 0;
        if (Layout == JsonRecordLayout.Json)
        {
            FluentJson.WriteByte(output, (byte)'[');
        }

        while (reader.TryRead(out var view))
        {
            if (count > 0 && Layout == JsonRecordLayout.Json)
            {
                FluentJson.WriteByte(output, (byte)',');
            }

            WriteRecord(view, output);
            if (Layout == JsonRecordLayout.JsonLines)
            {
                FluentJson.WriteByte(output, (byte)'\n');
            }

            count++;
        }

        if (Layout == JsonRecordLayout.Json)
        {
            FluentJson.WriteByte(output, (byte)']');
        }

        return count;
    }

    /// <summary>One event as a JSON object.</summary>
    public void WriteRecord(in EventView view, IBufferWriter<byte> output)
    {
        var record = view.Record.Span;
        FluentJson.WriteByte(output, (byte)'{');
        var wroteAny = false;
        if (_dateKey is not null && !FluentJson.MapContainsKey(record, 0, _dateKey))
        {
            FluentJson.WriteString(_dateKey, output, _flags);
            FluentJson.WriteByte(output, (byte)':');
            WriteDate(view.Time, output);
            wroteAny = true;
        }

        var metadata = view.Metadata.Span;
        if (HasEntries(metadata) && !FluentJson.MapContainsKey(record, 0, "__internal__"u8))
        {
            if (wroteAny)
            {
                FluentJson.WriteByte(output, (byte)',');
            }

            output.Write("\"__internal__\":{\"log_metadata\":"u8);
            FluentJson.WriteValue(metadata, output, _flags);
            FluentJson.WriteByte(output, (byte)'}');
            wroteAny = true;
        }

        var cursor = new MsgpackCursor(record);
        var header = cursor.Read();
        FluentJson.WriteMapEntries(ref cursor, header.Length, output, _flags, 0, wroteAny);
        FluentJson.WriteByte(output, (byte)'}');
    }

    private void WriteDate(EventTime time, IBufferWriter<byte> output)
    {
        switch (DateFormat)
        {
            case JsonDateFormat.Double:
                CNumberFormat.WriteJsonDouble(output, time.ToDouble(), (_flags & FluentJsonFlags.NanAsNull) != 0);
                break;
            case JsonDateFormat.Epoch:
                CNumberFormat.WriteUInt64(output, time.Seconds);
                break;
            case JsonDateFormat.EpochMilliseconds:
                CNumberFormat.WriteUInt64(output, (ulong)time.ToUnixMilliseconds());
                break;
            case JsonDateFormat.Iso8601:
            case JsonDateFormat.JavaSqlTimestamp:
                WriteCalendarTime(time, DateFormat == JsonDateFormat.Iso8601, output);
                break;
        }
    }

    /// <summary>strftime <c>%Y-%m-%dT%H:%M:%S</c> (or with a space) plus <c>.%06u</c> microseconds, UTC.</summary>
    private static void WriteCalendarTime(EventTime time, bool iso8601, IBufferWriter<byte> output)
    {
        var utc = DateTime.UnixEpoch.AddSeconds(time.Seconds);
        var span = output.GetSpan(32);
        var n = 0;
        span[n++] = (byte)'"';
        n += Digits(span[n..], utc.Year, 4);
        span[n++] = (byte)'-';
        n += Digits(span[n..], utc.Month, 2);
        span[n++] = (byte)'-';
        n += Digits(span[n..], utc.Day, 2);
        span[n++] = iso8601 ? (byte)'T' : (byte)' ';
        n += Digits(span[n..], utc.Hour, 2);
        span[n++] = (byte)':';
        n += Digits(span[n..], utc.Minute, 2);
        span[n++] = (byte)':';
        n += Digits(span[n..], utc.Second, 2);
        span[n++] = (byte)'.';
        n += Digits(span[n..], (int)(time.Nanoseconds / 1000), 6);
        if (iso8601)
        {
            span[n++] = (byte)'Z';
        }

        span[n++] = (byte)'"';
        output.Advance(n);
    }

    private static int Digits(Span<byte> destination, int value, int width)
    {
        Utf8Formatter.TryFormat(value, destination, out var written, new StandardFormat('D', (byte)width));
        return written;
    }

    private static bool HasEntries(ReadOnlySpan<byte> map)
    {
        if (map.IsEmpty)
        {
            return false;
        }

        var cursor = new MsgpackCursor(map);
        var header = cursor.Read();
        return header.Kind == MsgpackKind.Map && header.Length > 0;
    }
}
