using System.Buffers;
using Gateway.Engine.Buffers;
using System.Runtime.CompilerServices;

namespace Gateway.Engine.Json;

/// <summary>Switches of Fluent Bit's JSON encoder that are service-wide settings there.</summary>
[Flags]
internal enum FluentJsonFlags
{
    /// <summary>Fluent Bit's defaults: <c>json.escape_unicode on</c>, NaN printed as <c>nan</c>.</summary>
    None = 0,

    /// <summary><c>json.escape_unicode off</c>: valid UTF-8 is copied as is instead of <c>\uXXXX</c>.</summary>
    RawUnicode = 1,

    /// <summary><c>json.convert_nan_to_null on</c>.</summary>
    NanAsNull = 2,
}

/// <summary>
/// msgpack → JSON exactly as Fluent Bit's <c>flb_msgpack_to_json</c> (flb_pack.c) renders it: no whitespace;
/// strings escaped as <c>flb_utils_write_str</c>; integers in decimal; doubles as <c>%.1f</c> when integral, else
/// <c>%.16g</c>; binary as a string; extensions as <c>"\xNN..."</c>; in a map only the last of repeated string keys
/// is kept; non-string keys are written as their JSON value (not valid JSON, but that is what Fluent Bit emits).
/// Writes UTF-8 straight into the caller's <see cref="IBufferWriter{T}"/>; no per-value allocation.
/// </summary>
internal static class FluentJson
{
    /// <summary>Nesting beyond this is rejected: a recursive writer must not be steerable into a stack overflow.</summary>
    public const int MaxDepth = 500;

    // Small maps use a stackalloc'd key table; bigger ones rent one.
    private const int StackKeyTableEntries = 32;

    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    private static ReadOnlySpan<byte> ReplacementCharacter => [0xef, 0xbf, 0xbd];

    /// <summary>Printable ASCII except <c>"</c> and <c>\</c>: bytes copied to JSON unchanged.</summary>
    private static readonly SearchValues<byte> PlainBytes = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~"u8);

    /// <summary>Converts the single msgpack value at the start of <paramref name="msgpack"/>; returns the bytes it used.</summary>
    /// <exception cref="MsgpackFormatException">The bytes are not valid msgpack.</exception>
    public static int WriteValue(ReadOnlySpan<byte> msgpack, IBufferWriter<byte> output, FluentJsonFlags flags = FluentJsonFlags.None)
    {
        var cursor = new MsgpackCursor(msgpack);
        WriteValue(ref cursor, output, flags, 0);
        return cursor.Position;
    }

    /// <summary>Writes the value at the cursor and advances past it.</summary>
    public static void WriteValue(ref MsgpackCursor cursor, IBufferWriter<byte> output, FluentJsonFlags flags, int depth)
    {
        var token = cursor.ReadNested(depth);
        switch (token.Kind)
        {
            case MsgpackKind.Nil:
                output.Write("null"u8);
                break;
            case MsgpackKind.Boolean:
            case MsgpackKind.PositiveInteger:
            case MsgpackKind.NegativeInteger:
                WriteBooleanOrInteger(token, output);
                break;
            case MsgpackKind.Float32:
            case MsgpackKind.Float64:
                CNumberFormat.WriteJsonDouble(output, token.Double, (flags & FluentJsonFlags.NanAsNull) != 0);
                break;
            case MsgpackKind.String:
            case MsgpackKind.Binary:
                WriteString(cursor.Payload(token), output, flags);
                break;
            case MsgpackKind.Extension:
                WriteExtension(cursor.Payload(token), output);
                break;
            case MsgpackKind.Array:
                WriteByte(output, (byte)'[');
                for (var i = 0; i < token.Length; i++)
                {
                    if (i > 0)
                    {
                        WriteByte(output, (byte)',');
                    }

                    WriteValue(ref cursor, output, flags, depth + 1);
                }

                WriteByte(output, (byte)']');
                break;
            case MsgpackKind.Map:
                WriteByte(output, (byte)'{');
                WriteMapEntries(ref cursor, token.Length, output, flags, depth, false);
                WriteByte(output, (byte)'}');
                break;
        }
    }

    /// <summary>
    /// Writes the <c>k:v</c> entries of a map whose header was already read (no braces), dropping every string key
    /// that repeats later in the same map, as Fluent Bit does. When <paramref name="needsLeadingComma"/> is set, a
    /// comma goes before the first entry written (the caller already wrote entries of its own).
    /// Returns the number of entries written.
    /// </summary>
    public static int WriteMapEntries(
        ref MsgpackCursor cursor,
        int count,
        IBufferWriter<byte> output,
        FluentJsonFlags flags,
        int depth,
        bool needsLeadingComma)
    {
        if (count == 0)
        {
            return 0;
        }

        var start = cursor.Position;
        int[]? rented = null;
        Span<int> keyTable = count <= StackKeyTableEntries
            ? stackalloc int[StackKeyTableEntries * 2]
            : (rented = ArrayPool<int>.Shared.Rent(count * 2));
        try
        {
            if (output is IRewindableBufferWriter rewindable)
            {
                // One pass: write every entry, noting where the keys are; only when a key turns out to repeat
                // (rare) cut the output back and take the two-pass way below. Saves walking every value twice
                // (nested maps once per level).
                var mark = rewindable.WrittenCount;
                for (var i = 0; i < count; i++)
                {
                    var peek = new MsgpackCursor(cursor.Buffer, cursor.Position);
                    var key = peek.Read();
                    keyTable[2 * i] = key.Kind == MsgpackKind.String ? key.Offset : -1;
                    keyTable[(2 * i) + 1] = key.Length;
                    if (i > 0 || needsLeadingComma)
                    {
                        WriteByte(output, (byte)',');
                    }

                    WriteValue(ref cursor, output, flags, depth + 1);
                    WriteByte(output, (byte)':');
                    WriteValue(ref cursor, output, flags, depth + 1);
                }

                if (!HasRepeatedKey(cursor.Buffer, keyTable, count))
                {
                    return count;
                }

                rewindable.Truncate(mark);
                cursor = new MsgpackCursor(cursor.Buffer, start);
            }

            // First pass: where the string keys are, so repeated keys can be found without decoding anything else.
            var scan = new MsgpackCursor(cursor.Buffer, start);
            for (var i = 0; i < count; i++)
            {
                var keyStart = scan.Position;
                var key = scan.Read();
                if (key.Kind == MsgpackKind.String)
                {
                    keyTable[2 * i] = key.Offset;
                    keyTable[(2 * i) + 1] = key.Length;
                }
                else
                {
                    keyTable[2 * i] = -1;
                    scan = new MsgpackCursor(cursor.Buffer, keyStart);
                    scan.Skip();
                }

                scan.Skip();
            }

            var hasDuplicates = HasRepeatedKey(cursor.Buffer, keyTable, count);

            var written = 0;
            for (var i = 0; i < count; i++)
            {
                if (hasDuplicates && IsRepeatedLater(cursor.Buffer, keyTable, count, i))
                {
                    cursor.Skip();
                    cursor.Skip();
                    continue;
                }

                if (written > 0 || needsLeadingComma)
                {
                    WriteByte(output, (byte)',');
                }

                WriteValue(ref cursor, output, flags, depth + 1);
                WriteByte(output, (byte)':');
                WriteValue(ref cursor, output, flags, depth + 1);
                written++;
            }

            return written;
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>True when the map at the cursor (header not yet read) has a string key equal to <paramref name="key"/>.</summary>
    public static bool MapContainsKey(ReadOnlySpan<byte> buffer, int mapStart, ReadOnlySpan<byte> key)
    {
        var cursor = new MsgpackCursor(buffer, mapStart);
        var header = cursor.Read();
        if (header.Kind != MsgpackKind.Map)
        {
            return false;
        }

        for (var i = 0; i < header.Length; i++)
        {
            var keyStart = cursor.Position;
            var token = cursor.Read();
            if (token.Kind == MsgpackKind.String && cursor.Payload(token).SequenceEqual(key))
            {
                return true;
            }

            cursor = new MsgpackCursor(buffer, keyStart);
            cursor.Skip();
            cursor.Skip();
        }

        return false;
    }

    /// <summary>A JSON string (quotes included) from UTF-8 bytes, escaped as flb_utils_write_str.</summary>
    public static void WriteString(ReadOnlySpan<byte> utf8, IBufferWriter<byte> output, FluentJsonFlags flags)
    {
        WriteByte(output, (byte)'"');
        WriteEscaped(utf8, output, flags);
        WriteByte(output, (byte)'"');
    }

    /// <summary>The string body without quotes.</summary>
    public static void WriteEscaped(ReadOnlySpan<byte> utf8, IBufferWriter<byte> output, FluentJsonFlags flags)
    {
        var escapeUnicode = (flags & FluentJsonFlags.RawUnicode) == 0;
        var i = 0;
        while (i < utf8.Length)
        {
            // Copy the longest run that needs no attention in one go (vectorised search).
            var run = utf8[i..].IndexOfAnyExcept(PlainBytes);
            if (run < 0)
            {
                run = utf8.Length - i;
            }

            if (run > 0)
            {
                output.Write(utf8.Slice(i, run));
                i += run;
                if (i >= utf8.Length)
                {
                    break;
                }
            }

            var c = utf8[i];
            if (c < 0x80)
            {
                WriteAsciiEscape(output, c);
                i++;
            }
            else if (escapeUnicode)
            {
                i = WriteEscapedSequence(utf8, i, output);
            }
            else
            {
                i = WriteRawSequence(utf8, i, output);
            }
        }
    }


    private static void WriteAsciiEscape(IBufferWriter<byte> output, byte c)
    {
        var span = output.GetSpan(6);
        span[0] = (byte)'\\';
        switch (c)
        {
            case (byte)'"':
                span[1] = (byte)'"';
                output.Advance(2);
                return;
            case (byte)'\\':
                span[1] = (byte)'\\';
                output.Advance(2);
                return;
            case (byte)'\n':
                span[1] = (byte)'n';
                output.Advance(2);
                return;
            case (byte)'\r':
                span[1] = (byte)'r';
                output.Advance(2);
                return;
            case (byte)'\t':
                span[1] = (byte)'t';
                output.Advance(2);
                return;
            case (byte)'\b':
                span[1] = (byte)'b';
                output.Advance(2);
                return;
            case (byte)'\f':
                span[1] = (byte)'f';
                output.Advance(2);
                return;
            default:
                // Remaining control characters and DEL.
                WriteUnicodeEscape(span, c);
                output.Advance(6);
                return;
        }
    }

    private static void WriteUnicodeEscape(Span<byte> span, int codeUnit)
    {
        span[0] = (byte)'\\';
        span[1] = (byte)'u';
        span[2] = HexDigits[(codeUnit >> 12) & 0xf];
        span[3] = HexDigits[(codeUnit >> 8) & 0xf];
        span[4] = HexDigits[(codeUnit >> 4) & 0xf];
        span[5] = HexDigits[codeUnit & 0xf];
    }

    /// <summary>
    /// Escaping mode (Fluent Bit's default on x86-64, where <c>char</c> is signed so every non-ASCII byte takes the
    /// "beyond 0xFFFF" branch): a valid sequence becomes <c>\uXXXX</c> (a surrogate pair above the BMP); a sequence
    /// cut off by the end of the string loses its lead byte; each byte of an invalid sequence becomes the private-use
    /// character U+E0XX written as raw UTF-8, so no byte is silently dropped.
    /// </summary>
    private static int WriteEscapedSequence(ReadOnlySpan<byte> s, int i, IBufferWriter<byte> output)
    {
        var expected = SequenceLengthFromLead(s[i]);
        if (i + expected > s.Length)
        {
            return i + 1;
        }

        var valid = DecodeUtf8(s[i..], out var codepoint, out var consumed);
        if (valid)
        {
            if (codepoint > 0xffff)
            {
                var span = output.GetSpan(12);
                var v = codepoint - 0x10000;
                WriteUnicodeEscape(span, 0xd800 + (v >> 10));
                WriteUnicodeEscape(span[6..], 0xdc00 + (v & 0x3ff));
                output.Advance(12);
            }
            else
            {
                var span = output.GetSpan(6);
                WriteUnicodeEscape(span, codepoint);
                output.Advance(6);
            }

            return i + consumed;
        }

        // An invalid lead byte maps alone; an invalid continuation maps the valid prefix and is looked at again.
        var mapped = consumed == 0 ? 1 : consumed;
        var outSpan = output.GetSpan(3 * mapped);
        for (var b = 0; b < mapped; b++)
        {
            var fragment = s[i + b];
            outSpan[(3 * b) + 0] = 0xee;
            outSpan[(3 * b) + 1] = (byte)(0x80 | ((fragment >> 6) & 0x03));
            outSpan[(3 * b) + 2] = (byte)(0x80 | (fragment & 0x3f));
        }

        output.Advance(3 * mapped);
        return i + mapped;
    }

    /// <summary>Raw mode: valid UTF-8 copied; each byte of an invalid or truncated sequence becomes U+FFFD.</summary>
    private static int WriteRawSequence(ReadOnlySpan<byte> s, int i, IBufferWriter<byte> output)
    {
        var valid = DecodeUtf8(s[i..], out _, out var consumed);
        if (valid)
        {
            output.Write(s.Slice(i, consumed));
            return i + consumed;
        }

        output.Write(ReplacementCharacter);
        return i + 1;
    }

    /// <summary>Length the lead byte announces, from the classic trailingBytesForUTF8 table Fluent Bit uses.</summary>
    private static int SequenceLengthFromLead(byte lead) => lead switch
    {
        < 0xc0 => 1,
        < 0xe0 => 2,
        < 0xf0 => 3,
        < 0xf8 => 4,
        < 0xfc => 5,
        _ => 6,
    };

    /// <summary>
    /// Strict UTF-8 decode of one sequence (no overlongs, surrogates or values above U+10FFFF — the same ranges as
    /// Hoehrmann's DFA that Fluent Bit uses). On failure <paramref name="consumed"/> is the length of the valid prefix.
    /// </summary>
    private static bool DecodeUtf8(ReadOnlySpan<byte> s, out int codepoint, out int consumed)
    {
        codepoint = 0;
        consumed = 0;
        var lead = s[0];
        int length;
        byte secondLow = 0x80, secondHigh = 0xbf;
        switch (lead)
        {
            case >= 0xc2 and <= 0xdf:
                length = 2;
                codepoint = lead & 0x1f;
                break;
            case 0xe0:
                length = 3;
                secondLow = 0xa0;
                codepoint = lead & 0x0f;
                break;
            case 0xed:
                length = 3;
                secondHigh = 0x9f;
                codepoint = lead & 0x0f;
                break;
            case >= 0xe1 and <= 0xef:
                length = 3;
                codepoint = lead & 0x0f;
                break;
            case 0xf0:
                length = 4;
                secondLow = 0x90;
                codepoint = lead & 0x07;
                break;
            case >= 0xf1 and <= 0xf3:
                length = 4;
                codepoint = lead & 0x07;
                break;
            case 0xf4:
                length = 4;
                secondHigh = 0x8f;
                codepoint = lead & 0x07;
                break;
            default:
                return false;
        }

        consumed = 1;
        for (var k = 1; k < length; k++)
        {
            if (k >= s.Length)
            {
                return false;
            }

            var c = s[k];
            var low = k == 1 ? secondLow : (byte)0x80;
            var high = k == 1 ? secondHigh : (byte)0xbf;
            if (c < low || c > high)
            {
                return false;
            }

            codepoint = (codepoint << 6) | (c & 0x3f);
            consumed++;
        }

        return true;
    }

    /// <summary>
    /// Fluent Bit prints ext bodies as <c>\x%02x</c> of a (signed) <c>char</c>, so bytes from 0x80 print as
    /// <c>\xffffff80</c>; reproduced as is for byte-compatibility.
    /// </summary>
    private static void WriteExtension(ReadOnlySpan<byte> payload, IBufferWriter<byte> output)
    {
        WriteByte(output, (byte)'"');
        foreach (var b in payload)
        {
            var span = output.GetSpan(10);
            span[0] = (byte)'\\';
            span[1] = (byte)'x';
            if (b >= 0x80)
            {
                "ffffff"u8.CopyTo(span[2..]);
                span[8] = HexDigits[b >> 4];
                span[9] = HexDigits[b & 0xf];
                output.Advance(10);
            }
            else
            {
                span[2] = HexDigits[b >> 4];
                span[3] = HexDigits[b & 0xf];
                output.Advance(4);
            }
        }

        WriteByte(output, (byte)'"');
    }

    private static bool HasRepeatedKey(ReadOnlySpan<byte> buffer, Span<int> keyTable, int count)
    {
        for (var i = 0; i < count - 1; i++)
        {
            if (keyTable[2 * i] >= 0 && IsRepeatedLater(buffer, keyTable, count, i))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsRepeatedLater(ReadOnlySpan<byte> buffer, Span<int> keyTable, int count, int index)
    {
        var offset = keyTable[2 * index];
        if (offset < 0)
        {
            return false;
        }

        var key = buffer.Slice(offset, keyTable[(2 * index) + 1]);
        for (var j = index + 1; j < count; j++)
        {
            var otherOffset = keyTable[2 * j];
            if (otherOffset >= 0 && keyTable[(2 * j) + 1] == key.Length && buffer.Slice(otherOffset, key.Length).SequenceEqual(key))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A boolean or integer token, written the same by JSON and by msgpack-c's printer. Inlined into each writer's
    /// switch, so it costs the JSON path a compare, not a call.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void WriteBooleanOrInteger(in MsgpackToken token, IBufferWriter<byte> output)
    {
        if (token.Kind == MsgpackKind.Boolean)
        {
            output.Write(token.Boolean ? "true"u8 : "false"u8);
        }
        else if (token.Kind == MsgpackKind.PositiveInteger)
        {
            CNumberFormat.WriteUInt64(output, token.UInt64);
        }
        else
        {
            CNumberFormat.WriteInt64(output, token.Int64);
        }
    }

    internal static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        var span = output.GetSpan(1);
        span[0] = value;
        output.Advance(1);
    }
}
