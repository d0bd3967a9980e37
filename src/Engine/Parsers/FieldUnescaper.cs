using System.Text;
using Gateway.Engine.Buffers;

namespace Gateway.Engine.Parsers;

/// <summary>The backslash unescapers Fluent Bit's parsers and decoders use, over UTF-8 bytes.</summary>
internal static class FieldUnescaper
{
    /// <summary>
    /// The <c>escaped</c> decoder (unescape_string in flb_parser_decoder.c): <c>\n \a \b \t \v \f \r</c> become
    /// control characters; any other escaped character loses its backslash (<c>\"</c> becomes <c>"</c>).
    /// </summary>
    public static void UnescapeSimple(ReadOnlySpan<byte> input, PooledBufferWriter output)
    {
        var span = output.GetSpan(input.Length);
        var j = 0;
        for (var i = 0; i < input.Length; i++)
        {
            var c = input[i];
            if (c == (byte)'\\' && i + 1 < input.Length)
            {
                i++;
                span[j++] = input[i] switch
                {
                    (byte)'n' => (byte)'\n',
                    (byte)'a' => 0x07,
                    (byte)'b' => 0x08,
                    (byte)'t' => (byte)'\t',
                    (byte)'v' => 0x0B,
                    (byte)'f' => 0x0C,
                    (byte)'r' => (byte)'\r',
                    _ => input[i],
                };
                continue;
            }

            if (c == (byte)'\\')
            {
                // A trailing lone backslash is dropped, as in the C loop.
                continue;
            }

            span[j++] = c;
        }

        output.Advance(j);
    }

    /// <summary>
    /// The <c>escaped_utf8</c> decoder (unescape_string_utf8 in flb_parser_decoder.c): C escapes, octal
    /// <c>\NNN</c>, <c>\xHH</c>, <c>\uHHHH</c> and <c>\UHHHHHHHH</c> become UTF-8; <c>\" \' \\ \/</c> are left as
    /// they are.
    /// </summary>
    public static void UnescapeUtf8(ReadOnlySpan<byte> input, PooledBufferWriter output)
    {
        Span<byte> encoded = stackalloc byte[4];
        var i = 0;
        while (i < input.Length)
        {
            if (input[i] != (byte)'\\' || i + 1 >= input.Length || input[i + 1] is (byte)'"' or (byte)'\'' or (byte)'\\' or (byte)'/')
            {
                if (input[i] == (byte)'\\' && i + 1 < input.Length)
                {
                    output.Write(input.Slice(i, 2));
                    i += 2;
                    continue;
                }

                output.Write(input.Slice(i, 1));
                i++;
                continue;
            }

            i++;
            var c = input[i];
            uint codePoint;
            switch (c)
            {
                case (byte)'n': codePoint = '\n'; i++; break;
                case (byte)'t': codePoint = '\t'; i++; break;
                case (byte)'r': codePoint = '\r'; i++; break;
                case (byte)'b': codePoint = 0x08; i++; break;
                case (byte)'f': codePoint = 0x0C; i++; break;
                case (byte)'v': codePoint = 0x0B; i++; break;
                case (byte)'a': codePoint = 0x07; i++; break;
                case >= (byte)'0' and <= (byte)'7':
                    codePoint = 0;
                    for (var digits = 0; digits < 3 && i < input.Length && input[i] is >= (byte)'0' and <= (byte)'7'; digits++)
                    {
                        codePoint = (codePoint * 8) + (uint)(input[i++] - '0');
                    }

                    break;
                case (byte)'x':
                    i++;
                    codePoint = ReadHex(input, ref i, 2, c);
                    break;
                case (byte)'u':
                    i++;
                    codePoint = ReadHex(input, ref i, 4, c);
                    break;
                case (byte)'U':
                    i++;
                    codePoint = ReadHex(input, ref i, 8, c);
                    break;
                default:
                    codePoint = c;
                    i++;
                    break;
            }

            output.Write(encoded[..EncodeUtf8(codePoint, encoded)]);
        }
    }

    /// <summary>
    /// JSON-style unescaping for logfmt quoted values (flb_unescape_string_utf8 in flb_unescape.c):
    /// <c>\" \\ \/ \n \t \r \b \f</c> and <c>\uHHHH</c> (with surrogate pairs); unknown escapes keep the character.
    /// </summary>
    public static void UnescapeJson(ReadOnlySpan<byte> input, PooledBufferWriter output)
    {
        Span<byte> encoded = stackalloc byte[4];
        var i = 0;
        while (i < input.Length)
        {
            if (input[i] != (byte)'\\' || i + 1 >= input.Length)
            {
                output.Write(input.Slice(i, 1));
                i++;
                continue;
            }

            var c = input[i + 1];
            i += 2;
            uint codePoint = c switch
            {
                (byte)'n' => '\n',
                (byte)'t' => '\t',
                (byte)'r' => '\r',
                (byte)'b' => 0x08,
                (byte)'f' => 0x0C,
                _ => c,
            };
            if (c == (byte)'u')
            {
                var start = i;
                codePoint = ReadHex(input, ref i, 4, c);
                if (i - start == 4 && codePoint is >= 0xD800 and <= 0xDBFF && i + 5 < input.Length && input[i] == (byte)'\\' && input[i + 1] == (byte)'u')
                {
                    var low = i + 2;
                    var lowSurrogate = ReadHex(input, ref low, 4, c);
                    if (low - (i + 2) == 4 && lowSurrogate is >= 0xDC00 and <= 0xDFFF)
                    {
                        codePoint = 0x10000 + ((codePoint - 0xD800) << 10) + (lowSurrogate - 0xDC00);
                        i = low;
                    }
                }
            }

            output.Write(encoded[..EncodeUtf8(codePoint, encoded)]);
        }
    }

    /// <summary>Up to <paramref name="maxDigits"/> hex digits after the escape letter; none means the letter itself.</summary>
    private static uint ReadHex(ReadOnlySpan<byte> input, ref int i, int maxDigits, byte letter)
    {
        var start = i;
        uint value = 0;
        while (i - start < maxDigits && i < input.Length && char.IsAsciiHexDigit((char)input[i]))
        {
            var c = input[i++];
            value = (value << 4) | (uint)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }

        return i == start ? letter : value;
    }

    private static int EncodeUtf8(uint codePoint, Span<byte> destination)
    {
        if (codePoint > 0x10FFFF || codePoint is >= 0xD800 and <= 0xDFFF)
        {
            codePoint = 0xFFFD;
        }

        return new Rune(codePoint).EncodeToUtf8(destination);
    }
}
