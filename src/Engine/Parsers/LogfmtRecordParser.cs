using System.Buffers;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Engine.Parsers;

/// <summary>
/// <c>Format logfmt</c> (flb_parser_logfmt.c): <c>key=value key="quoted value" bare</c>. A bare key and
/// <c>key=</c> become <c>true</c>, <c>key=""</c> an empty string. Parsing stops at the first newline. A Time_Key value that does not
/// parse fails the whole line, as in Fluent Bit.
/// </summary>
internal sealed class LogfmtRecordParser : RecordParserBase
{
    public LogfmtRecordParser(ParserDefinition definition, TimeProvider clock)
        : base(definition, clock)
    {
    }

    public override bool TryParse(ReadOnlySpan<byte> input, IBufferWriter<byte> recordMsgpack, out EventTime? time)
    {
        time = null;
        var scratch = ParserScratch.Current;
        scratch.ResetRecord();
        var body = new MessagePackWriter(scratch.Body);
        var count = 0;
        EventTime? recordTime = null;
        var c = 0;
        var end = input.Length;
        while (c < end)
        {
            while (c < end && !IsIdentByte(input[c]))
            {
                c++;
            }

            if (c == end)
            {
                break;
            }

            var keyStart = c;
            while (c < end && IsIdentByte(input[c]))
            {
                c++;
            }

            var key = input[keyStart..c];
            var valueStart = c;
            var valueLength = 0;
            var valueSet = false;
            var quoted = false;
            var escaped = false;
            if (c < end && input[c] == (byte)'=')
            {
                valueSet = true;
                c++;
                if (c < end && input[c] == (byte)'"')
                {
                    c++;
                    valueStart = c;
                    quoted = true;
                    while (c < end && input[c] != (byte)'"')
                    {
                        if (input[c] == (byte)'\\')
                        {
                            escaped = true;
                            c++;
                            if (c == end)
                            {
                                break;
                            }
                        }

                        c++;
                    }

                    valueLength = c - valueStart;
                    if (c < end && input[c] == (byte)'"')
                    {
                        c++;
                    }
                }
                else
                {
                    valueStart = c;
                    while (c < end && IsIdentByte(input[c]))
                    {
                        c++;
                    }

                    valueLength = c - valueStart;
                }
            }

            if (key.Length > 0)
            {
                if (Definition.LogfmtNoBareKeys && valueLength == 0 && !valueSet)
                {
                    return false;
                }

                var value = input.Slice(valueStart, valueLength);
                if (!TryApplyTimeKey(key, value, ref recordTime, out var keep))
                {
                    return false;
                }

                if (keep)
                {
                    WriteField(ref body, key, value, valueLength == 0 && !quoted, escaped, scratch);
                    count++;
                }
            }

            if (c == end)
            {
                break;
            }

            if (input[c] == (byte)'\r' || input[c] == (byte)'\n')
            {
                break;
            }
        }

        return TryCompleteRecord(ref body, recordMsgpack, count, scratch, recordTime, out time);
    }

    private void WriteField(ref MessagePackWriter body, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool bare, bool escaped, ParserScratch scratch)
    {
        if (Fields.HasTypes)
        {
            // With Types set Fluent Bit casts even bare keys, so they become "" rather than true.
            Fields.WriteStringField(ref body, key, Unescape(value, escaped, scratch), scratch);
            return;
        }

        if (bare)
        {
            body.WriteString(key);
            body.Write(true);
            return;
        }

        Fields.WriteStringFieldUntyped(ref body, key, Unescape(value, escaped, scratch), scratch);
    }

    private static ReadOnlySpan<byte> Unescape(ReadOnlySpan<byte> value, bool escaped, ParserScratch scratch)
    {
        if (!escaped)
        {
            return value;
        }

        var output = scratch.Utf8Value;
        output.Reset();
        FieldUnescaper.UnescapeJson(value, output);
        return output.WrittenSpan;
    }

    /// <summary>logfmt's ident_byte: any byte above space except '=' and '"'.</summary>
    private static bool IsIdentByte(byte b) => b > (byte)' ' && b != (byte)'=' && b != (byte)'"';
}
