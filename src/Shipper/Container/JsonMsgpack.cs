using System.Buffers;
using System.Text.Json;
using MessagePack;

namespace Gateway.Shipper.Container;

/// <summary>
/// Converts one JSON object (a log line) to msgpack with <see cref="Utf8JsonReader"/>: no DOM, no reflection,
/// nothing allocated per line beyond a pooled scratch buffer for escaped strings. Types follow Fluent Bit's
/// <c>flb_pack_json</c>: integers stay integers, numbers with a fraction or exponent become float64, strings are
/// unescaped, member order and duplicates are kept.
/// </summary>
internal static class JsonMsgpack
{
    /// <summary>
    /// Checks that <paramref name="json"/> is exactly one JSON object and counts its members. Lines that do not
    /// start with '{' are rejected without running the reader, so CRI lines tried against the docker parser are cheap.
    /// </summary>
    public static bool TryScanObject(ReadOnlySpan<byte> json, out int memberCount)
    {
        memberCount = 0;
        var trimmed = TrimWhitespace(json);
        if (trimmed.IsEmpty || trimmed[0] != '{' || trimmed[^1] != '}')
        {
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(trimmed, new JsonReaderOptions { AllowMultipleValues = false });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == 0)
                {
                    return !reader.Read();
                }

                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1)
                {
                    memberCount++;
                    reader.Read();
                    reader.Skip();
                }
            }

            return false;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// Finds the top-level string member <paramref name="key"/>: its unescaped value is written to
    /// <paramref name="unescaped"/>; <paramref name="rawStart"/>/<paramref name="rawLength"/> locate its escaped
    /// text between the quotes in <paramref name="json"/>. The object must have been validated.
    /// </summary>
    public static bool TryFindString(ReadOnlySpan<byte> json, ReadOnlySpan<byte> key, IBufferWriter<byte> unescaped, out int rawStart, out int rawLength)
    {
        rawStart = 0;
        rawLength = 0;
        var reader = new Utf8JsonReader(TrimWhitespace(json));
        var offset = json.Length - TrimStart(json).Length;
        reader.Read();
        while (reader.Read())
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1)
            {
                continue;
            }

            var matches = reader.ValueTextEquals(key);
            reader.Read();
            if (!matches)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType != JsonTokenType.String)
            {
                return false;
            }

            rawStart = offset + (int)reader.TokenStartIndex + 1;
            rawLength = reader.ValueSpan.Length;
            WriteUnescaped(ref reader, unescaped);
            return true;
        }

        return false;
    }

    /// <summary>
    /// Writes the members of a validated JSON object as msgpack key/value pairs (the caller writes the map header).
    /// When <paramref name="replaceKey"/> is set, that top-level member's value is written as the string
    /// <paramref name="replaceValue"/> instead (used to put a joined multiline <c>log</c> back in the first line's record).
    /// </summary>
    public static void WriteMembers(ReadOnlySpan<byte> json, ref MessagePackWriter writer, ReadOnlySpan<byte> replaceKey = default, ReadOnlySpan<byte> replaceValue = default)
    {
        var reader = new Utf8JsonReader(TrimWhitespace(json));
        reader.Read();
        while (reader.Read() && reader.CurrentDepth >= 1)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var replace = !replaceKey.IsEmpty && reader.ValueTextEquals(replaceKey);
            WriteString(ref reader, ref writer);
            reader.Read();
            if (replace)
            {
                reader.Skip();
                writer.WriteString(replaceValue);
            }
            else
            {
                WriteValue(ref reader, ref writer);
            }
        }
    }

    private static void WriteValue(ref Utf8JsonReader reader, ref MessagePackWriter writer)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                WriteString(ref reader, ref writer);
                break;
            case JsonTokenType.Number:
                WriteNumber(ref reader, ref writer);
                break;
            case JsonTokenType.True:
                writer.Write(true);
                break;
            case JsonTokenType.False:
                writer.Write(false);
                break;
            case JsonTokenType.Null:
                writer.WriteNil();
                break;
            case JsonTokenType.StartObject:
                writer.WriteMapHeader(CountChildren(reader));
                while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
                {
                    WriteString(ref reader, ref writer);
                    reader.Read();
                    WriteValue(ref reader, ref writer);
                }

                break;
            case JsonTokenType.StartArray:
                writer.WriteArrayHeader(CountChildren(reader));
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    WriteValue(ref reader, ref writer);
                }

                break;
            default:
                throw new JsonException($"unexpected JSON token {reader.TokenType}");
        }
    }

    /// <summary>Counts the direct children of the object/array the reader is on, using a copy of the reader.</summary>
    private static int CountChildren(Utf8JsonReader copy)
    {
        var isObject = copy.TokenType == JsonTokenType.StartObject;
        var depth = copy.CurrentDepth;
        var count = 0;
        while (copy.Read() && copy.CurrentDepth > depth)
        {
            if (isObject)
            {
                count++; // property name
                copy.Read();
                copy.Skip();
            }
            else
            {
                count++;
                copy.Skip();
            }
        }

        return count;
    }

    private static void WriteNumber(ref Utf8JsonReader reader, ref MessagePackWriter writer)
    {
        if (reader.ValueSpan.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0)
        {
            if (reader.TryGetInt64(out var l))
            {
                writer.Write(l);
                return;
            }

            if (reader.TryGetUInt64(out var ul))
            {
                writer.Write(ul);
                return;
            }
        }

        if (reader.TryGetDouble(out var d))
        {
            writer.Write(d);
            return;
        }

        // Out of double range (e.g. 1e400): keep the number's text rather than fail the whole line.
        writer.WriteString(reader.ValueSpan);
    }

    private static void WriteString(ref Utf8JsonReader reader, ref MessagePackWriter writer)
    {
        // The reader always runs over one contiguous line, so values never span segments.
        if (!reader.ValueIsEscaped)
        {
            writer.WriteString(reader.ValueSpan);
            return;
        }

        var max = reader.ValueSpan.Length;
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(max, 16));
        try
        {
            var n = reader.CopyString(rented);
            writer.WriteString(rented.AsSpan(0, n));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static void WriteUnescaped(ref Utf8JsonReader reader, IBufferWriter<byte> output)
    {
        var max = reader.ValueSpan.Length;
        var span = output.GetSpan(Math.Max(max, 1));
        var n = reader.ValueIsEscaped ? reader.CopyString(span) : CopyRaw(reader.ValueSpan, span);
        output.Advance(n);
    }

    private static int CopyRaw(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    private static ReadOnlySpan<byte> TrimStart(ReadOnlySpan<byte> s)
    {
        var i = 0;
        while (i < s.Length && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        {
            i++;
        }

        return s[i..];
    }

    private static ReadOnlySpan<byte> TrimWhitespace(ReadOnlySpan<byte> s)
    {
        s = TrimStart(s);
        var end = s.Length;
        while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t' || s[end - 1] == '\r'))
        {
            end--;
        }

        return s[..end];
    }
}
