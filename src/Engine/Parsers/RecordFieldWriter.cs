using System.Buffers.Text;
using System.Globalization;
using System.Text;
using MessagePack;

namespace Gateway.Engine.Parsers;

/// <summary>
/// The per-field steps every parser format shares, in Fluent Bit's order: <c>Types</c> casting
/// (flb_parser_typecast), then <c>Decode_Field</c>/<c>Decode_Field_As</c> (flb_parser_decoder_do) on values that
/// are still strings. Keys and values are UTF-8 spans; nothing is turned into .NET strings.
/// </summary>
internal sealed class RecordFieldWriter
{
    private readonly TypeRule[] _types;
    private readonly FieldDecoder[] _decoders;

    public RecordFieldWriter(ParserDefinition definition)
    {
        _types = new TypeRule[definition.Types.Count];
        for (var i = 0; i < _types.Length; i++)
        {
            _types[i] = new TypeRule(Encoding.UTF8.GetBytes(definition.Types[i].Key), definition.Types[i].Value);
        }

        // Rules are grouped per field in first-seen order, as get_decoder_key_context does.
        var decoders = new List<FieldDecoder>();
        foreach (var rule in definition.Decoders)
        {
            var key = Encoding.UTF8.GetBytes(rule.Field);
            var existing = decoders.FindIndex(d => d.Key.AsSpan().SequenceEqual(key));
            if (existing < 0)
            {
                decoders.Add(new FieldDecoder(key, [rule]));
            }
            else
            {
                decoders[existing] = decoders[existing] with { Rules = [.. decoders[existing].Rules, rule] };
            }
        }

        _decoders = decoders.ToArray();
    }

    public bool HasTypes => _types.Length > 0;

    /// <summary>Writes <c>key: value</c> where value is a string found in the input.</summary>
    public void WriteStringField(ref MessagePackWriter body, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ParserScratch scratch)
    {
        foreach (var type in _types)
        {
            if (key.SequenceEqual(type.Key) && type.Type != ParserFieldType.String && TryWriteTyped(ref body, key, value, type.Type))
            {
                return;
            }
        }

        WriteStringFieldUntyped(ref body, key, value, scratch);
    }

    /// <summary>Writes a string field without Types casting (JSON input keeps its own types).</summary>
    public void WriteStringFieldUntyped(ref MessagePackWriter body, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ParserScratch scratch)
    {
        foreach (var decoder in _decoders)
        {
            if (key.SequenceEqual(decoder.Key))
            {
                WriteDecoded(ref body, key, value, decoder.Rules, scratch);
                return;
            }
        }

        body.WriteString(key);
        body.WriteString(value);
    }

    private static bool TryWriteTyped(ref MessagePackWriter body, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ParserFieldType type)
    {
        switch (type)
        {
            case ParserFieldType.Integer:
                body.WriteString(key);
                body.Write(ParseLeadingInteger(value));
                return true;
            case ParserFieldType.Hex:
                body.WriteString(key);
                body.Write(ParseLeadingHex(value));
                return true;
            case ParserFieldType.Float:
                body.WriteString(key);
                body.Write(ParseLeadingDouble(value));
                return true;
            case ParserFieldType.Bool:
                // Anything but a true/false prefix is a cast error: Fluent Bit keeps the string.
                if (value.Length >= 4 && Ascii.EqualsIgnoreCase(value[..4], "true"u8))
                {
                    body.WriteString(key);
                    body.Write(true);
                    return true;
                }

                if (value.Length >= 5 && Ascii.EqualsIgnoreCase(value[..5], "false"u8))
                {
                    body.WriteString(key);
                    body.Write(false);
                    return true;
                }

                return false;
            default:
                return false;
        }
    }

    /// <summary>
    /// Applies one field's decoder rules like flb_parser_decoder_do: at most one successful Decode_Field_As
    /// (replaces the value) and one successful Decode_Field (its map's keys are appended after the record's
    /// own keys); <c>try_next</c> moves on after a failure, <c>do_next</c> also after a success.
    /// </summary>
    private static void WriteDecoded(ref MessagePackWriter body, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, DecoderRule[] rules, ParserScratch scratch)
    {
        // The key goes out first: decoding may reuse the scratch buffer an escaped JSON key was unescaped into.
        body.WriteString(key);
        var data = scratch.DecodeInput;
        data.Reset();
        data.Write(value);
        var decodedAs = false;
        var decodedAsObject = false;
        var decodedExtra = false;
        foreach (var rule in rules)
        {
            if (!rule.ReplaceValue && rule.Action == DecoderAction.DoNext && decodedExtra)
            {
                continue;
            }

            if (decodedAs && decodedAsObject)
            {
                continue;
            }

            var ok = TryDecode(rule.Backend, data.WrittenSpan, scratch, out var isObject);
            if (!ok)
            {
                if (rule.Action is DecoderAction.TryNext or DecoderAction.DoNext)
                {
                    continue;
                }

                break;
            }

            var result = scratch.DecodeOutput.WrittenSpan;
            if (rule.ReplaceValue)
            {
                data.Reset();
                data.Write(result);
                decodedAs = true;
                decodedAsObject = isObject;
            }
            else if (isObject)
            {
                // Decode_Field: the decoded map's pairs are appended after the record's own keys.
                AppendMapPairs(scratch);
                decodedExtra = true;
            }

            if (rule.Action != DecoderAction.DoNext)
            {
                break;
            }
        }

        if (!decodedAs)
        {
            body.WriteString(value);
        }
        else if (decodedAsObject)
        {
            body.WriteRaw(data.WrittenSpan);
        }
        else
        {
            body.WriteString(data.WrittenSpan);
        }
    }

    /// <summary>Runs one decoder; the result is in <see cref="ParserScratch.DecodeOutput"/> (msgpack when an object).</summary>
    private static bool TryDecode(DecoderBackend backend, ReadOnlySpan<byte> input, ParserScratch scratch, out bool isObject)
    {
        var output = scratch.DecodeOutput;
        output.Reset();
        isObject = false;
        switch (backend)
        {
            case DecoderBackend.Json:
                // Fluent Bit unescapes first (content may be an escaped JSON string). Trying the raw text first
                // keeps JSON that legitimately contains \" intact, which the unescape-only path would break.
                if (input.IsEmpty || input[0] != (byte)'{')
                {
                    return false;
                }

                isObject = true;
                if (JsonMsgpack.TryConvertObject(input, output, scratch))
                {
                    return true;
                }

                var unescaped = scratch.DecodedJson;
                unescaped.Reset();
                FieldUnescaper.UnescapeSimple(input, unescaped);
                return unescaped.WrittenCount > 0 && unescaped.WrittenSpan[0] == (byte)'{'
                    && JsonMsgpack.TryConvertObject(unescaped.WrittenSpan, output, scratch);
            case DecoderBackend.Escaped:
                FieldUnescaper.UnescapeSimple(input, output);
                return true;
            default:
                FieldUnescaper.UnescapeUtf8(input, output);
                return true;
        }
    }

    /// <summary>Copies the pairs of the map in <see cref="ParserScratch.DecodeOutput"/> to the appended keys.</summary>
    private static void AppendMapPairs(ParserScratch scratch)
    {
        var map = scratch.DecodeOutput.WrittenMemory;
        var reader = new MessagePackReader(map);
        var count = reader.ReadMapHeader();
        scratch.Extra.Write(map.Span[(int)reader.Consumed..]);
        scratch.ExtraCount += count;
    }

    /// <summary>atoll: optional blanks and sign, then digits up to the first other character; no digits is 0.</summary>
    internal static long ParseLeadingInteger(ReadOnlySpan<byte> value)
    {
        var i = SkipBlanks(value);
        var negative = false;
        if (i < value.Length && value[i] is (byte)'+' or (byte)'-')
        {
            negative = value[i] == (byte)'-';
            i++;
        }

        long result = 0;
        while (i < value.Length && char.IsAsciiDigit((char)value[i]))
        {
            var digit = value[i++] - '0';
            if (result > (long.MaxValue - digit) / 10)
            {
                return negative ? long.MinValue : long.MaxValue;
            }

            result = (result * 10) + digit;
        }

        return negative ? -result : result;
    }

    /// <summary>strtoull(value, NULL, 16): optional blanks and 0x prefix, then hex digits.</summary>
    internal static ulong ParseLeadingHex(ReadOnlySpan<byte> value)
    {
        var i = SkipBlanks(value);
        if (i + 1 < value.Length && value[i] == (byte)'0' && (value[i + 1] | 0x20) == (byte)'x')
        {
            i += 2;
        }

        ulong result = 0;
        while (i < value.Length && char.IsAsciiHexDigit((char)value[i]))
        {
            if (result > ulong.MaxValue >> 4)
            {
                return ulong.MaxValue;
            }

            result = (result << 4) | (uint)HexValue(value[i++]);
        }

        return result;
    }

    /// <summary>atof: the longest prefix that is a decimal number; 0 when there is none.</summary>
    internal static double ParseLeadingDouble(ReadOnlySpan<byte> value)
    {
        var start = SkipBlanks(value);
        var text = value[start..];

        // Only the characters a number can contain are candidates; this also bounds the retries below.
        var candidate = 0;
        while (candidate < text.Length && candidate < 64 && text[candidate] is (>= (byte)'0' and <= (byte)'9') or (byte)'+' or (byte)'-' or (byte)'.' or (byte)'e' or (byte)'E')
        {
            candidate++;
        }

        for (var length = candidate; length > 0; length--)
        {
            if (Utf8Parser.TryParse(text[..length], out double parsed, out var consumed, 'G') && consumed == length)
            {
                return parsed;
            }
        }

        return 0;
    }

    private static int SkipBlanks(ReadOnlySpan<byte> value)
    {
        var i = 0;
        while (i < value.Length && value[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or (byte)'\v' or (byte)'\f')
        {
            i++;
        }

        return i;
    }

    private static int HexValue(byte c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    private readonly record struct TypeRule(byte[] Key, ParserFieldType Type);

    private sealed record FieldDecoder(byte[] Key, DecoderRule[] Rules);
}
