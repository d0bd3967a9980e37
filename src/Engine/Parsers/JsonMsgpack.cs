using System.Text.Json;
using Gateway.Engine.Buffers;
using MessagePack;

namespace Gateway.Engine.Parsers;

/// <summary>
/// JSON text to msgpack, as Fluent Bit's <c>flb_pack_json</c> does it: key order kept, integers as ints (unsigned
/// when they do not fit a signed 64-bit), numbers with a fraction or exponent as float64, strings unescaped.
/// Works straight from UTF-8 bytes with <see cref="Utf8JsonReader"/>, so nothing is decoded to .NET strings.
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

    /// <summary>Writes the value at the reader's current token (and everything nested in it).</summary>
    public static void WriteValue(ref Utf8JsonReader reader, ref MessagePackWriter writer, ParserScratch scratch)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                writer.WriteMapHeader(CountChildren(reader));
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    WriteString(ref reader, ref writer, scratch);
                    reader.Read();
                    WriteValue(ref reader, ref writer, scratch);
                }

                break;
            case JsonTokenType.StartArray:
                writer.WriteArrayHeader(CountChildren(reader));
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    WriteValue(ref reader, ref writer, scratch);
                }

                break;
            case JsonTokenType.String:
                WriteString(ref reader, ref writer, scratch);
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
            default:
                writer.WriteNil();
                break;
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

    private static void WriteNumber(ref Utf8JsonReader reader, ref MessagePackWriter writer)
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

        writer.Write(reader.TryGetDouble(out var number) ? number : double.NaN);
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
