using System.Buffers;
using System.Text.Json;
using Gateway.Engine.Buffers;
using MessagePack;

namespace Gateway.Engine.Parsers;

/// <summary>
/// JSON text to msgpack, as Fluent Bit's <c>flb_pack_json</c> does it: key order kept, integers as ints (unsigned
/// when they do not fit a signed 64-bit), numbers with a fraction or exponent as float64, strings unescaped.
/// Works straight from UTF-8 bytes with <see cref="Utf8JsonReader"/>, so nothing is decoded to .NET strings.
/// The container (docker/CRI) parsers in the shipper use the member-level helpers (<see cref="TryScanObject"/>,
/// <see cref="TryFindString"/>, <see cref="WriteMembers"/>) to rewrite one member without a second pass.
/// </summary>
internal static class JsonMsgpack
{
    internal static readonly JsonReaderOptions ReaderOptions = new()
    {
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
        MaxDepth = 256,
    };

    /// <summary>Converts a complete JSON object; false (with nothing meaningful written) for anything else.</summary>
    public static bool TryConvertObject(ReadOnlySpan<byte> json, PooledBufferWriter output, ParserScratch scratch)
    {
        output.Reset();
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var writer = new MessagePackWriter(output);
            WriteValue(ref reader, ref writer, scratch);
            writer.Flush();

            // A second value or trailing garbage makes Utf8JsonReader throw; trailing whitespace ends cleanly.
            return !reader.Read();
        }
        catch (JsonException)
        {
            output.Reset();
            return false;
        }
    }

    /// <summary>
    /// Writes the value at the reader's current token (and everything nested in it). A number out of float64 range
    /// (e.g. <c>1e400</c>) becomes NaN, or its text as a str when <paramref name="outOfRangeNumberAsText"/> is set
    /// (the container parsers keep the text rather than lose the value).
    /// </summary>
    public static void WriteValue(ref Utf8JsonReader reader, ref MessagePackWriter writer, ParserScratch scratch, bool outOfRangeNumberAsText = false)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                writer.WriteMapHeader(CountChildren(reader));
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    WriteString(ref reader, ref writer, scratch);
                    reader.Read();
                    WriteValue(ref reader, ref writer, scratch, outOfRangeNumberAsText);
                }

                break;
            case JsonTokenType.StartArray:
                writer.WriteArrayHeader(CountChildren(reader));
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    WriteValue(ref reader, ref writer, scratch, outOfRangeNumberAsText);
                }

                break;
            case JsonTokenType.String:
                WriteString(ref reader, ref writer, scratch);
                break;
            case JsonTokenType.Number:
                WriteNumber(ref reader, ref writer, outOfRangeNumberAsText);
                break;
            case JsonTokenType.True:
                writer.Write(true);
                break;
            case JsonTokenType.False:
                writer.Write(false);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }

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
            var span = unescaped.GetSpan(Math.Max(rawLength, 1));
            var length = reader.ValueIsEscaped ? reader.CopyString(span) : CopyRaw(reader.ValueSpan, span);
            unescaped.Advance(length);
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
        var scratch = ParserScratch.Current;
        var reader = new Utf8JsonReader(TrimWhitespace(json));
        reader.Read();
        while (reader.Read() && reader.CurrentDepth >= 1)
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var replace = !replaceKey.IsEmpty && reader.ValueTextEquals(replaceKey);
            WriteString(ref reader, ref writer, scratch);
            reader.Read();
            if (replace)
            {
                reader.Skip();
                writer.WriteString(replaceValue);
            }
            else
            {
                WriteValue(ref reader, ref writer, scratch, outOfRangeNumberAsText: true);
            }
        }
    }

    /// <summary>Writes the current string or property name token, unescaped, as a msgpack str.</summary>
    public static void WriteString(ref Utf8JsonReader reader, ref MessagePackWriter writer, ParserScratch scratch) =>
        writer.WriteString(GetUnescaped(ref reader, scratch, second: false));

    /// <summary>
    /// The current string token's bytes, unescaped. <paramref name="second"/> picks a second scratch buffer so a
    /// key and its value can be held at the same time.
    /// </summary>
    public static ReadOnlySpan<byte> GetUnescaped(scoped ref Utf8JsonReader reader, ParserScratch scratch, bool second)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        var buffer = scratch.GetUnescapeBuffer(reader.ValueSpan.Length, second);
        var length = reader.CopyString(buffer);
        return buffer.AsSpan(0, length);
    }

    private static void WriteNumber(ref Utf8JsonReader reader, ref MessagePackWriter writer, bool outOfRangeAsText)
    {
        var raw = reader.ValueSpan;
        if (raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') < 0)
        {
            if (reader.TryGetInt64(out var signed))
            {
                writer.Write(signed);
                return;
            }

            if (reader.TryGetUInt64(out var unsigned))
            {
                writer.Write(unsigned);
                return;
            }
        }

        if (reader.TryGetDouble(out var number))
        {
            writer.Write(number);
        }
        else if (outOfRangeAsText)
        {
            writer.WriteString(raw);
        }
        else
        {
            writer.Write(double.NaN);
        }
    }

    /// <summary>Counts the members or items of the object/array the reader is on, using a copy of the reader.</summary>
    private static int CountChildren(Utf8JsonReader probe)
    {
        var count = 0;
        var isObject = probe.TokenType == JsonTokenType.StartObject;
        while (probe.Read())
        {
            if (probe.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                return count;
            }

            if (isObject)
            {
                probe.Read();
            }

            count++;
            if (probe.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
            {
                probe.Skip();
            }
        }

        return count;
    }

    private static int CopyRaw(ReadOnlySpan<byte> source, Span<byte> destination)
    {
        source.CopyTo(destination);
        return source.Length;
    }

    // JSON whitespace a container runtime leaves around a line (the newline is already cut off).
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

/// <summary>
/// Per-thread buffers for one parse call: the record body, the keys appended by <c>Decode_Field</c>, decoder
/// input/output and unescape space. Reused across calls so the steady state allocates nothing.
/// </summary>
internal sealed class ParserScratch
{
    [ThreadStatic]
    private static ParserScratch? t_current;

    private byte[] _unescapeFirst = new byte[256];
    private byte[] _unescapeSecond = new byte[256];
    private char[] _chars = new char[512];

    public PooledBufferWriter Body { get; } = new();

    public PooledBufferWriter Extra { get; } = new();

    public int ExtraCount { get; set; }

    public PooledBufferWriter DecodeInput { get; } = new();

    public PooledBufferWriter DecodeOutput { get; } = new();

    public PooledBufferWriter DecodedJson { get; } = new();

    public PooledBufferWriter Utf8Value { get; } = new();

    public static ParserScratch Current => t_current ??= new ParserScratch();

    public void ResetRecord()
    {
        Body.Reset();
        Extra.Reset();
        ExtraCount = 0;
    }

    public byte[] GetUnescapeBuffer(int length, bool second)
    {
        ref var buffer = ref second ? ref _unescapeSecond : ref _unescapeFirst;
        if (buffer.Length < length)
        {
            buffer = new byte[Math.Max(length, buffer.Length * 2)];
        }

        return buffer;
    }

    public char[] GetChars(int length)
    {
        if (_chars.Length < length)
        {
            _chars = new char[Math.Max(length, _chars.Length * 2)];
        }

        return _chars;
    }
}
