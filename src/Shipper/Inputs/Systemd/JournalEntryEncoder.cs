using System.Buffers;
using System.Buffers.Text;
using System.Text.Json;
using Gateway.Engine.Buffers;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Shipper.Inputs.Systemd;

/// <summary>
/// Turns one line of <c>journalctl --output=json</c> into a Fluent event <c>[EventTime, {fields}]</c> the way
/// Fluent Bit's <c>in_systemd</c> packs an entry: every data field as a string key/value (in journal order), the
/// entry's metadata (<c>__CURSOR</c>, <c>__REALTIME_TIMESTAMP</c>, <c>__MONOTONIC_TIMESTAMP</c>, <c>__SEQNUM</c>...)
/// left out, the time from <c>__REALTIME_TIMESTAMP</c> (sd_journal_get_realtime_usec), at most
/// <c>Max_Fields</c> fields, <c>Strip_Underscores</c> and <c>Lowercase</c> applied to names.
/// </summary>
/// <remarks>
/// journalctl prints a binary value as an array of byte numbers; it is packed as a string of those bytes, as
/// sd-journal hands it to Fluent Bit. A field present several times is printed as an array of values and packed as
/// a msgpack array of strings. The cursor and unit are kept as bytes in reused buffers so steady-state encoding
/// does not allocate.
/// </remarks>
internal sealed class JournalEntryEncoder : IDisposable
{
    private const byte Map32 = 0xdf;
    private const int EventHeaderSize = 1 + 2 + 8; // fixarray(2), fixext8 header, EventTime payload

    private readonly SystemdInputOptions _options;
    private readonly TimeProvider _time;
    private byte[] _scratch = ArrayPool<byte>.Shared.Rent(4096);
    private byte[] _name = ArrayPool<byte>.Shared.Rent(256);
    private byte[] _lower = ArrayPool<byte>.Shared.Rent(256);
    private byte[] _cursor = ArrayPool<byte>.Shared.Rent(256);
    private byte[] _unit = ArrayPool<byte>.Shared.Rent(256);
    private int _cursorLength;
    private int _unitLength;

    public JournalEntryEncoder(SystemdInputOptions options, TimeProvider time)
    {
        _options = options;
        _time = time;
    }

    /// <summary>The <c>__CURSOR</c> of the last encoded entry (empty when it had none).</summary>
    public ReadOnlySpan<byte> Cursor => _cursor.AsSpan(0, _cursorLength);

    /// <summary>The <c>_SYSTEMD_UNIT</c> of the last encoded entry, or null when it had none.</summary>
    public bool HasUnit { get; private set; }

    public ReadOnlySpan<byte> Unit => _unit.AsSpan(0, _unitLength);

    /// <summary>True when the last entry had more than <c>Max_Fields</c> fields (the rest were dropped).</summary>
    public bool FieldsTruncated { get; private set; }

    /// <summary>
    /// Appends the event for <paramref name="jsonLine"/> to <paramref name="output"/>. On bad input nothing is
    /// appended and <paramref name="error"/> says what was wrong.
    /// </summary>
    public bool TryEncode(ReadOnlySpan<byte> jsonLine, PooledBufferWriter output, out string? error)
    {
        var start = output.WrittenCount;
        _cursorLength = 0;
        _unitLength = 0;
        HasUnit = false;
        FieldsTruncated = false;
        try
        {
            var fields = 0;
            long realtimeMicros = -1;
            var writer = new MessagePackWriter(output);
            writer.WriteArrayHeader(2);
            writer.WriteExtensionFormatHeader(new ExtensionHeader(EventTime.ExtType, 8));
            writer.GetSpan(8).Slice(0, 8).Clear();
            writer.Advance(8);
            var header = writer.GetSpan(5);
            header[0] = Map32;
            writer.Advance(5);

            var reader = new Utf8JsonReader(jsonLine, new JsonReaderOptions { MaxDepth = 8 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                writer.Flush();
                output.Truncate(start);
                error = "the line is not a JSON object";
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = UnescapedName(ref reader);
                var isMeta = name.Length >= 2 && name[0] == (byte)'_' && name[1] == (byte)'_';
                if (!reader.Read())
                {
                    break;
                }

                if (isMeta)
                {
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        if (name.SequenceEqual("__CURSOR"u8))
                        {
                            _cursorLength = CopyTo(ref _cursor, Unescaped(ref reader, 0));
                        }
                        else if (name.SequenceEqual("__REALTIME_TIMESTAMP"u8)
                                 && Utf8Parser.TryParse(reader.ValueSpan, out long micros, out var consumed)
                                 && consumed == reader.ValueSpan.Length)
                        {
                            realtimeMicros = micros;
                        }
                    }

                    reader.Skip();
                    continue;
                }

                if (reader.TokenType == JsonTokenType.String && name.SequenceEqual("_SYSTEMD_UNIT"u8))
                {
                    _unitLength = CopyTo(ref _unit, Unescaped(ref reader, 0));
                    HasUnit = true;
                }

                if (fields >= _options.MaxFields)
                {
                    FieldsTruncated = true;
                    reader.Skip();
                    continue;
                }

                WriteName(ref writer, name);
                WriteValue(ref writer, ref reader);
                fields++;
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.CurrentDepth != 0)
            {
                writer.Flush();
                output.Truncate(start);
                error = "the JSON object is incomplete";
                return false;
            }

            writer.Flush();
            var written = output.WrittenSpanForPatching;
            var time = realtimeMicros >= 0
                ? new EventTime((uint)(realtimeMicros / 1_000_000), (uint)(realtimeMicros % 1_000_000 * 1000))
                : EventTime.Now(_time);
            time.WritePayload(written.Slice(start + 3, 8));
            var count = written.Slice(start + EventHeaderSize + 1, 4);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(count, (uint)fields);
            error = null;
            return true;
        }
        catch (JsonException ex)
        {
            output.Truncate(start);
            error = "invalid JSON: " + ex.Message;
            return false;
        }
        catch (FormatException ex)
        {
            output.Truncate(start);
            error = "a binary field value is not a list of bytes: " + ex.Message;
            return false;
        }
        catch (InvalidOperationException ex)
        {
            output.Truncate(start);
            error = "unexpected JSON value: " + ex.Message;
            return false;
        }
    }

    public void Dispose()
    {
        Return(ref _scratch);
        Return(ref _name);
        Return(ref _lower);
        Return(ref _cursor);
        Return(ref _unit);
    }

    private static void Return(ref byte[] buffer)
    {
        var b = buffer;
        buffer = [];
        if (b.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(b);
        }
    }

    private static int CopyTo(ref byte[] destination, ReadOnlySpan<byte> value)
    {
        if (value.Length > destination.Length)
        {
            ArrayPool<byte>.Shared.Return(destination);
            destination = ArrayPool<byte>.Shared.Rent(value.Length);
        }

        value.CopyTo(destination);
        return value.Length;
    }

    private void EnsureScratch(int length)
    {
        if (length > _scratch.Length)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = ArrayPool<byte>.Shared.Rent(length);
        }
    }

    /// <summary>The current string token's UTF-8 bytes, unescaped into the scratch buffer at <paramref name="at"/> if needed.</summary>
    private ReadOnlySpan<byte> Unescaped(scoped ref Utf8JsonReader reader, int at)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        EnsureScratch(at + reader.ValueSpan.Length);
        var n = reader.CopyString(_scratch.AsSpan(at));
        return _scratch.AsSpan(at, n);
    }

    /// <summary>A property name, unescaped into its own buffer so value unescaping cannot overwrite it.</summary>
    private ReadOnlySpan<byte> UnescapedName(scoped ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        if (reader.ValueSpan.Length > _name.Length)
        {
            ArrayPool<byte>.Shared.Return(_name);
            _name = ArrayPool<byte>.Shared.Rent(reader.ValueSpan.Length);
        }

        var n = reader.CopyString(_name);
        return _name.AsSpan(0, n);
    }

    private void WriteName(ref MessagePackWriter writer, ReadOnlySpan<byte> name)
    {
        if (_options.StripUnderscores && name.Length > 0 && name[0] == (byte)'_')
        {
            name = name[1..];
        }

        if (!_options.Lowercase)
        {
            writer.WriteString(name);
            return;
        }

        if (name.Length > _lower.Length)
        {
            ArrayPool<byte>.Shared.Return(_lower);
            _lower = ArrayPool<byte>.Shared.Rent(name.Length);
        }

        var lower = _lower.AsSpan(0, name.Length);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            lower[i] = c is >= (byte)'A' and <= (byte)'Z' ? (byte)(c + 32) : c;
        }

        writer.WriteString(lower);
    }

    private void WriteValue(ref MessagePackWriter writer, ref Utf8JsonReader reader)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.String:
                writer.WriteString(Unescaped(ref reader, 0));
                break;
            case JsonTokenType.Number:
            case JsonTokenType.True:
            case JsonTokenType.False:
                // journalctl prints every value as a string; keep anything else as its text.
                writer.WriteString(reader.ValueSpan);
                break;
            case JsonTokenType.StartArray:
                WriteArrayValue(ref writer, ref reader);
                break;
            case JsonTokenType.StartObject:
                reader.Skip();
                writer.WriteNil();
                break;
            default:
                writer.WriteNil();
                break;
        }
    }

    /// <summary>An array of numbers is one binary value; an array of strings (or of binary arrays) is a repeated field.</summary>
    private void WriteArrayValue(ref MessagePackWriter writer, ref Utf8JsonReader reader)
    {
        var peek = reader;
        peek.Read();
        if (peek.TokenType is JsonTokenType.Number or JsonTokenType.EndArray)
        {
            var n = ReadBinary(ref reader, 0);
            writer.WriteString(_scratch.AsSpan(0, n));
            return;
        }

        var count = 0;
        var counter = reader;
        var depth = counter.CurrentDepth;
        while (counter.Read() && counter.CurrentDepth > depth)
        {
            count++;
            counter.Skip();
        }

        writer.WriteArrayHeader(count);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.String)
            {
                writer.WriteString(Unescaped(ref reader, 0));
            }
            else if (reader.TokenType == JsonTokenType.StartArray)
            {
                var n = ReadBinary(ref reader, 0);
                writer.WriteString(_scratch.AsSpan(0, n));
            }
            else
            {
                reader.Skip();
                writer.WriteNil();
            }
        }
    }

    /// <summary>Reads an array of byte numbers (reader on its StartArray) into the scratch buffer.</summary>
    private int ReadBinary(ref Utf8JsonReader reader, int at)
    {
        var n = at;
        while (reader.Read() && reader.TokenType == JsonTokenType.Number)
        {
            EnsureScratchKeeping(n + 1);
            _scratch[n++] = reader.GetByte();
        }

        if (reader.TokenType != JsonTokenType.EndArray)
        {
            throw new InvalidOperationException("a binary field value has a non-number element");
        }

        return n - at;
    }

    private void EnsureScratchKeeping(int length)
    {
        if (length > _scratch.Length)
        {
            var next = ArrayPool<byte>.Shared.Rent(Math.Max(length, _scratch.Length * 2));
            _scratch.AsSpan().CopyTo(next);
            ArrayPool<byte>.Shared.Return(_scratch);
            _scratch = next;
        }
    }
}
