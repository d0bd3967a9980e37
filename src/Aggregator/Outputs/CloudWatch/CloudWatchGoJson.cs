using System.Buffers;
using System.Globalization;
using System.Text;
using Gateway.Engine.Json;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// msgpack → JSON as the <c>cloudwatch</c> Go plugin (amazon-cloudwatch-logs-for-fluent-bit) writes a message:
/// <c>jsoniter.ConfigCompatibleWithStandardLibrary.Marshal</c> of the decoded record, which sorts every map's keys
/// (byte order, the last of repeated keys wins as in a Go map), escapes <c>&lt; &gt; &amp;</c> (EscapeHTML),
/// U+2028/U+2029 and invalid UTF-8 (as <c>\ufffd</c>), and prints floats as Go does (<c>3</c> not <c>3.0</c>,
/// exponent form below 1e-6 and from 1e21). Fluent Bit's C plugin (<c>cloudwatch_logs</c>) keeps record order
/// instead (<see cref="FluentJson"/>).
/// </summary>
/// <remarks>
/// Integer map keys are written as their decimal text (jsoniter's map key encoding); other non-string keys and
/// extension values, which records practically never hold, are written as Fluent Bit would. Sorting rents its
/// entry table from the pool; no per-record allocation otherwise.
/// </remarks>
internal static class CloudWatchGoJson
{
    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    /// <summary>Writes the value at the start of <paramref name="msgpack"/>; false when Go cannot marshal it (NaN, ±Inf).</summary>
    /// <exception cref="MsgpackFormatException">The bytes are not valid msgpack.</exception>
    public static bool WriteValue(ReadOnlySpan<byte> msgpack, IBufferWriter<byte> output)
    {
        var cursor = new MsgpackCursor(msgpack);
        return WriteValue(ref cursor, output, 0);
    }

    private static bool WriteValue(ref MsgpackCursor cursor, IBufferWriter<byte> output, int depth)
    {
        var start = cursor.Position;
        var token = cursor.ReadNested(depth);
        switch (token.Kind)
        {
            case MsgpackKind.Nil:
                output.Write("null"u8);
                return true;
            case MsgpackKind.Boolean:
            case MsgpackKind.PositiveInteger:
            case MsgpackKind.NegativeInteger:
                FluentJson.WriteBooleanOrInteger(token, output);
                return true;
            case MsgpackKind.Float32:
                return WriteFloat(output, token.Double, single: true);
            case MsgpackKind.Float64:
                return WriteFloat(output, token.Double, single: false);
            case MsgpackKind.String:
            case MsgpackKind.Binary:
                WriteString(cursor.Payload(token), output);
                return true;
            case MsgpackKind.Extension:
                FluentJson.WriteValue(cursor.Buffer[start..cursor.Position], output);
                return true;
            case MsgpackKind.Array:
                output.Write("["u8);
                for (var i = 0; i < token.Length; i++)
                {
                    if (i > 0)
                    {
                        output.Write(","u8);
                    }

                    if (!WriteValue(ref cursor, output, depth + 1))
                    {
                        return false;
                    }
                }

                output.Write("]"u8);
                return true;
            default:
                return WriteMap(ref cursor, token.Length, output, depth);
        }
    }

    /// <summary>A map's entries sorted by key; the header was read, the cursor is at the first key.</summary>
    private static bool WriteMap(ref MsgpackCursor cursor, int count, IBufferWriter<byte> output, int depth)
    {
        var buffer = cursor.Buffer;
        var entries = ArrayPool<MapEntry>.Shared.Rent(Math.Max(count, 1));
        try
        {
            for (var i = 0; i < count; i++)
            {
                var keyStart = cursor.Position;
                var key = cursor.Read();
                int keyOffset, keyLength;
                if (key.Kind is MsgpackKind.String or MsgpackKind.Binary)
                {
                    keyOffset = key.Offset;
                    keyLength = key.Length;
                }
                else
                {
                    // Not a string: keep where it is and render it when writing (rare).
                    cursor = new MsgpackCursor(buffer, keyStart);
                    cursor.Skip();
                    keyOffset = keyStart;
                    keyLength = -(cursor.Position - keyStart);
                }

                var valueStart = cursor.Position;
                cursor.Skip();
                entries[i] = new MapEntry(keyOffset, keyLength, valueStart, i);
            }

            var end = cursor.Position;
            var sorted = entries.AsSpan(0, count);
            var comparer = new MapEntryComparer(buffer);
            comparer.Sort(sorted);

            output.Write("{"u8);
            var written = 0;
            for (var i = 0; i < sorted.Length; i++)
            {
                // Equal keys sort by position: only the last one stays, as decoding into a Go map leaves it.
                if (i + 1 < sorted.Length && comparer.SameKey(sorted[i], sorted[i + 1]))
                {
                    continue;
                }

                if (written++ > 0)
                {
                    output.Write(","u8);
                }

                WriteKey(buffer, sorted[i], output);
                output.Write(":"u8);
                var value = new MsgpackCursor(buffer, sorted[i].ValueStart);
                if (!WriteValue(ref value, output, depth + 1))
                {
                    return false;
                }
            }

            output.Write("}"u8);
            cursor = new MsgpackCursor(buffer, end);
            return true;
        }
        finally
        {
            ArrayPool<MapEntry>.Shared.Return(entries);
        }
    }

    private static void WriteKey(ReadOnlySpan<byte> buffer, in MapEntry entry, IBufferWriter<byte> output)
    {
        if (entry.KeyLength >= 0)
        {
            WriteString(buffer.Slice(entry.KeyOffset, entry.KeyLength), output);
            return;
        }

        var key = buffer.Slice(entry.KeyOffset, -entry.KeyLength);
        var cursor = new MsgpackCursor(key);
        var token = cursor.Read();
        if (token.Kind is MsgpackKind.PositiveInteger or MsgpackKind.NegativeInteger)
        {
            output.Write("\""u8);
            if (token.Kind == MsgpackKind.PositiveInteger)
            {
                CNumberFormat.WriteUInt64(output, token.UInt64);
            }
            else
            {
                CNumberFormat.WriteInt64(output, token.Int64);
            }

            output.Write("\""u8);
            return;
        }

        FluentJson.WriteValue(key, output);
    }

    /// <summary>A JSON string as Go's encoder with EscapeHTML writes it.</summary>
    public static void WriteString(ReadOnlySpan<byte> utf8, IBufferWriter<byte> output)
    {
        output.Write("\""u8);
        var i = 0;
        while (i < utf8.Length)
        {
            var b = utf8[i];
            if (b < 0x80)
            {
                if (b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&')
                {
                    var run = i + 1;
                    while (run < utf8.Length && utf8[run] is >= 0x20 and < 0x80 and not (byte)'"' and not (byte)'\\' and not (byte)'<' and not (byte)'>' and not (byte)'&')
                    {
                        run++;
                    }

                    output.Write(utf8[i..run]);
                    i = run;
                    continue;
                }

                switch (b)
                {
                    case (byte)'"':
                        output.Write("\\\""u8);
                        break;
                    case (byte)'\\':
                        output.Write("\\\\"u8);
                        break;
                    case (byte)'\n':
                        output.Write("\\n"u8);
                        break;
                    case (byte)'\r':
                        output.Write("\\r"u8);
                        break;
                    case (byte)'\t':
                        output.Write("\\t"u8);
                        break;
                    default:
                        Span<byte> escape = [(byte)'\\', (byte)'u', (byte)'0', (byte)'0', HexDigits[b >> 4], HexDigits[b & 0xF]];
                        output.Write(escape);
                        break;
                }

                i++;
                continue;
            }

            // Go decodes one rune at a time; a byte that starts no valid sequence becomes \ufffd and it moves on by one.
            if (Rune.DecodeFromUtf8(utf8[i..], out var rune, out var length) != OperationStatus.Done)
            {
                output.Write("\\ufffd"u8);
                i++;
                continue;
            }

            if (rune.Value is 0x2028 or 0x2029)
            {
                output.Write(rune.Value == 0x2028 ? "\\u2028"u8 : "\\u2029"u8);
            }
            else
            {
                output.Write(utf8.Slice(i, length));
            }

            i += length;
        }

        output.Write("\""u8);
    }

    /// <summary>
    /// Go's float encoding (encoding/json, jsoniter WriteFloat64): the shortest text that reads back the same
    /// value, <c>'f'</c> form for 1e-6 ≤ |x| &lt; 1e21, otherwise <c>'e'</c> form with <c>e-07</c> cleaned to <c>e-7</c>.
    /// </summary>
    private static bool WriteFloat(IBufferWriter<byte> output, double value, bool single)
    {
        if (double.IsNaN(value) || double.IsInfinity(value))
        {
            return false;
        }

        // The shortest round-trip text ("R"), e.g. "1.5E-07" or "123.45", reshaped into Go's form; all on the stack.
        Span<char> shortest = stackalloc char[48];
        var formatted = single
            ? ((float)value).TryFormat(shortest, out var length, "R", CultureInfo.InvariantCulture)
            : value.TryFormat(shortest, out length, "R", CultureInfo.InvariantCulture);
        if (!formatted)
        {
            return false;
        }

        ReadOnlySpan<char> body = shortest[..length];
        var negative = body[0] == '-';
        if (negative)
        {
            body = body[1..];
        }

        var e = body.IndexOfAny('E', 'e');
        var mantissa = e < 0 ? body : body[..e];
        var exponent = e < 0 ? 0 : int.Parse(body[(e + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        Span<char> digitBuffer = stackalloc char[48];
        var digitCount = 0;
        var dot = -1;
        for (var i = 0; i < mantissa.Length; i++)
        {
            if (mantissa[i] == '.')
            {
                dot = i;
            }
            else
            {
                digitBuffer[digitCount++] = mantissa[i];
            }
        }

        var point = (dot < 0 ? mantissa.Length : dot) + exponent;
        ReadOnlySpan<char> digits = digitBuffer[..digitCount];
        var lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..].TrimEnd('0');
        point -= lead;

        Span<byte> text = stackalloc byte[400];
        var at = 0;
        if (negative)
        {
            text[at++] = (byte)'-';
        }

        var abs = Math.Abs(value);
        if (digits.IsEmpty)
        {
            text[at++] = (byte)'0';
        }
        else if (abs < 1e-6 || abs >= 1e21)
        {
            text[at++] = (byte)digits[0];
            if (digits.Length > 1)
            {
                text[at++] = (byte)'.';
                at += Encoding.ASCII.GetBytes(digits[1..], text[at..]);
            }

            var exp = point - 1;
            text[at++] = (byte)'e';
            text[at++] = exp < 0 ? (byte)'-' : (byte)'+';

            // Go prints at least two exponent digits; encoding/json then trims a negative one's leading zero.
            if (exp is >= 0 and < 10)
            {
                text[at++] = (byte)'0';
            }

            Math.Abs(exp).TryFormat(text[at..], out var written, provider: CultureInfo.InvariantCulture);
            at += written;
        }
        else if (point <= 0)
        {
            text[at++] = (byte)'0';
            text[at++] = (byte)'.';
            text.Slice(at, -point).Fill((byte)'0');
            at += -point;
            at += Encoding.ASCII.GetBytes(digits, text[at..]);
        }
        else if (point >= digits.Length)
        {
            at += Encoding.ASCII.GetBytes(digits, text[at..]);
            text.Slice(at, point - digits.Length).Fill((byte)'0');
            at += point - digits.Length;
        }
        else
        {
            at += Encoding.ASCII.GetBytes(digits[..point], text[at..]);
            text[at++] = (byte)'.';
            at += Encoding.ASCII.GetBytes(digits[point..], text[at..]);
        }

        output.Write(text[..at]);
        return true;
    }

    private readonly record struct MapEntry(int KeyOffset, int KeyLength, int ValueStart, int Index);

    private readonly ref struct MapEntryComparer(ReadOnlySpan<byte> buffer)
    {
        private readonly ReadOnlySpan<byte> _buffer = buffer;

        /// <summary>Insertion sort: records' maps are small, and a ref struct cannot become a Comparison delegate.</summary>
        public void Sort(Span<MapEntry> entries)
        {
            for (var i = 1; i < entries.Length; i++)
            {
                var item = entries[i];
                var j = i - 1;
                while (j >= 0 && Compare(entries[j], item) > 0)
                {
                    entries[j + 1] = entries[j];
                    j--;
                }

                entries[j + 1] = item;
            }
        }

        public int Compare(MapEntry a, MapEntry b)
        {
            var c = Key(a).SequenceCompareTo(Key(b));
            return c != 0 ? c : a.Index.CompareTo(b.Index);
        }

        public bool SameKey(in MapEntry a, in MapEntry b) => Key(a).SequenceEqual(Key(b));

        private ReadOnlySpan<byte> Key(in MapEntry entry) =>
            entry.KeyLength >= 0 ? _buffer.Slice(entry.KeyOffset, entry.KeyLength) : _buffer.Slice(entry.KeyOffset, -entry.KeyLength);
    }
}
