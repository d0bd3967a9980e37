using System.Buffers;
using Gateway.Engine.Records;

namespace Gateway.Engine.Json;

/// <summary>The line formats of Fluent Bit's file output (<c>Format</c>).</summary>
internal enum FileLineFormat
{
    /// <summary><c>out_file</c> (default): <c>tag: [time, {json}]</c>.</summary>
    OutFile,

    /// <summary><c>plain</c>: the record as JSON.</summary>
    Plain,

    /// <summary><c>csv</c>: time then values, msgpack-c text.</summary>
    Csv,

    /// <summary><c>ltsv</c>: <c>"time":t</c> then <c>"key":value</c> pairs.</summary>
    Ltsv,

    /// <summary><c>template</c>: <c>{time}</c> and <c>{key}</c> placeholders.</summary>
    Template,

    /// <summary><c>msgpack</c>: the chunk bytes as they are.</summary>
    Msgpack,
}

/// <summary>
/// Text renderings of single events as Fluent Bit's stdout and file outputs write them. Each method writes one
/// line including its <c>\n</c>.
/// </summary>
internal static class FluentLineFormats
{
    /// <summary>out_stdout's default: <c>[index] tag: [[sec.nsec, {meta}], {record}]</c> in msgpack-c text.</summary>
    public static void WriteStdoutLine(IBufferWriter<byte> output, long index, ReadOnlySpan<byte> tagUtf8, in EventView view)
    {
        FluentJson.WriteByte(output, (byte)'[');
        CNumberFormat.WriteInt64(output, index);
        output.Write("] "u8);
        output.Write(tagUtf8);
        output.Write(": [["u8);
        CNumberFormat.WriteSecondsNanos(output, view.Time.Seconds, view.Time.Nanoseconds);
        output.Write(", "u8);
        var metadata = view.Metadata.Span;
        if (metadata.IsEmpty)
        {
            // Fluent Bit's decoder supplies an empty map for events without metadata.
            output.Write("{}"u8);
        }
        else
        {
            MsgpackTextPrinter.Print(metadata, output);
        }

        output.Write("], "u8);
        MsgpackTextPrinter.Print(view.Record.Span, output);
        output.Write("]\n"u8);
    }

    /// <summary>out_file's default: <c>tag: [%f, json]</c>.</summary>
    public static void WriteOutFileLine(IBufferWriter<byte> output, ReadOnlySpan<byte> tagUtf8, in EventView view, FluentJsonFlags flags)
    {
        output.Write(tagUtf8);
        output.Write(": ["u8);
        CNumberFormat.WriteFixed6(output, view.Time.ToDouble());
        output.Write(", "u8);
        FluentJson.WriteValue(view.Record.Span, output, flags);
        output.Write("]\n"u8);
    }

    /// <summary>out_file <c>plain</c>: the record as one JSON line.</summary>
    public static void WritePlainLine(IBufferWriter<byte> output, in EventView view, FluentJsonFlags flags)
    {
        FluentJson.WriteValue(view.Record.Span, output, flags);
        FluentJson.WriteByte(output, (byte)'\n');
    }

    /// <summary>
    /// out_file <c>csv</c>: <c>sec.nsec</c>, then each value in msgpack-c text, joined by the delimiter. An empty
    /// record writes nothing, as in Fluent Bit. With <paramref name="columnNames"/> a header line
    /// <c>timestamp,"key1","key2"</c> comes first.
    /// </summary>
    public static void WriteCsvLine(IBufferWriter<byte> output, in EventView view, ReadOnlySpan<byte> delimiter, bool columnNames)
    {
        var record = view.Record.Span;
        var cursor = new MsgpackCursor(record);
        var header = cursor.Read();
        if (header.Kind != MsgpackKind.Map || header.Length == 0)
        {
            return;
        }

        if (columnNames)
        {
            output.Write("timestamp"u8);
            output.Write(delimiter);
            var keys = cursor;
            for (var i = 0; i < header.Length; i++)
            {
                if (i > 0)
                {
                    output.Write(delimiter);
                }

                MsgpackTextPrinter.Print(ref keys, output, 1);
                keys.Skip();
            }

            FluentJson.WriteByte(output, (byte)'\n');
        }

        CNumberFormat.WriteSecondsNanos(output, view.Time.Seconds, view.Time.Nanoseconds);
        output.Write(delimiter);
        for (var i = 0; i < header.Length; i++)
        {
            if (i > 0)
            {
                output.Write(delimiter);
            }

            cursor.Skip();
            MsgpackTextPrinter.Print(ref cursor, output, 1);
        }

        FluentJson.WriteByte(output, (byte)'\n');
    }

    /// <summary>out_file <c>ltsv</c>: <c>"time":%f</c> then <c>"key":value</c> (keys in msgpack-c text, so quoted).</summary>
    public static void WriteLtsvLine(IBufferWriter<byte> output, in EventView view, ReadOnlySpan<byte> delimiter, ReadOnlySpan<byte> labelDelimiter)
    {
        var cursor = new MsgpackCursor(view.Record.Span);
        var header = cursor.Read();
        if (header.Kind != MsgpackKind.Map || header.Length == 0)
        {
            return;
        }

        output.Write("\"time\""u8);
        output.Write(labelDelimiter);
        CNumberFormat.WriteFixed6(output, view.Time.ToDouble());
        output.Write(delimiter);
        for (var i = 0; i < header.Length; i++)
        {
            if (i > 0)
            {
                output.Write(delimiter);
            }

            MsgpackTextPrinter.Print(ref cursor, output, 1);
            output.Write(labelDelimiter);
            MsgpackTextPrinter.Print(ref cursor, output, 1);
        }

        FluentJson.WriteByte(output, (byte)'\n');
    }

    /// <summary>
    /// out_file <c>template</c>: text outside braces is copied; <c>{key}</c> becomes the first record value with that
    /// string key (strings raw, others in msgpack-c text); an unknown key leaves <c>{key}</c> as written; a second
    /// <c>{</c> inside braces flushes the earlier text; an unclosed brace is copied. <c>{time}</c> is the event time
    /// as <c>%f</c> — and, because Fluent Bit compares with <c>strncmp(key, "time", len)</c>, so is any prefix of
    /// "time" including <c>{}</c>.
    /// </summary>
    public static void WriteTemplateLine(IBufferWriter<byte> output, in EventView view, ReadOnlySpan<byte> template)
    {
        var openBrace = -1;
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if (c == (byte)'{')
            {
                if (openBrace >= 0)
                {
                    output.Write(template[openBrace..i]);
                }

                openBrace = i;
            }
            else if (c == (byte)'}' && openBrace >= 0)
            {
                var key = template[(openBrace + 1)..i];
                if (!WriteTemplateValue(output, view, key))
                {
                    output.Write(template[openBrace..(i + 1)]);
                }

                openBrace = -1;
            }
            else if (openBrace < 0)
            {
                FluentJson.WriteByte(output, c);
            }
        }

        if (openBrace >= 0)
        {
            output.Write(template[openBrace..]);
        }

        FluentJson.WriteByte(output, (byte)'\n');
    }

    private static bool WriteTemplateValue(IBufferWriter<byte> output, in EventView view, ReadOnlySpan<byte> key)
    {
        if (key.Length <= 4 && "time"u8.StartsWith(key))
        {
            CNumberFormat.WriteFixed6(output, view.Time.ToDouble());
            return true;
        }

        var record = view.Record.Span;
        var cursor = new MsgpackCursor(record);
        var header = cursor.Read();
        for (var i = 0; i < header.Length; i++)
        {
            var keyStart = cursor.Position;
            var token = cursor.Read();
            if (token.Kind == MsgpackKind.String && cursor.Payload(token).SequenceEqual(key))
            {
                var valueStart = cursor.Position;
                var value = cursor.Read();
                if (value.Kind == MsgpackKind.String)
                {
                    output.Write(cursor.Payload(value));
                }
                else
                {
                    var printer = new MsgpackCursor(record, valueStart);
                    MsgpackTextPrinter.Print(ref printer, output, 1);
                }

                return true;
            }

            cursor = new MsgpackCursor(record, keyStart);
            cursor.Skip();
            cursor.Skip();
        }

        return false;
    }
}
