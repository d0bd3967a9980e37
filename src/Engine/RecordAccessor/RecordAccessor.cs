using System.Buffers;
using System.Text;
using Gateway.Engine.Json;

namespace Gateway.Engine.RecordAccessor;

/// <summary>
/// A compiled Fluent Bit record accessor (<c>$key</c>, <c>$key['sub'][0]</c>, <c>$TAG</c>, <c>$TAG[n]</c>, and
/// templates mixing text and accessors), or a template of the Go cloudwatch plugin (<c>$(tag[4])</c>,
/// <c>$(kubernetes['pod_name'])</c>). Compile once at config load; evaluation walks the record's msgpack bytes,
/// compares UTF-8 key bytes and allocates nothing. Lookups follow flb_ra_key.c: the last of repeated keys wins,
/// a missing key is "not found" (never an error), and sub-keys on a scalar root yield the root value itself.
/// Thread-safe: instances are immutable.
/// </summary>
internal sealed class RecordAccessor
{
    // snprintf(str, 31, "%f") in ra_translate_keymap caps a float's text at 31 characters.
    private const int MaxFloatText = 31;

    private readonly RecordAccessorPart[] _parts;

    private RecordAccessor(string pattern, List<RecordAccessorPart> parts, bool legacy)
    {
        Pattern = pattern;
        _parts = [.. parts];
        IsLegacyTemplate = legacy;
        foreach (var part in _parts)
        {
            if (part.Kind is RecordAccessorPartKind.Key or RecordAccessorPartKind.RegexCapture)
            {
                IsStatic = false;
                return;
            }
        }

        IsStatic = true;
    }

    public string Pattern { get; }

    /// <summary>True for the Go cloudwatch plugin's <c>$(...)</c> syntax.</summary>
    public bool IsLegacyTemplate { get; }

    /// <summary>No record keys involved: the result depends on the tag at most (flb_ra_is_static).</summary>
    public bool IsStatic { get; }

    internal IReadOnlyList<RecordAccessorPart> Parts => _parts;

    /// <summary>The pattern is exactly one key accessor (what grep / modify conditions expect).</summary>
    public bool IsSingleKey => _parts.Length == 1 && _parts[0].Kind == RecordAccessorPartKind.Key;

    /// <summary>Compiles a Fluent Bit record accessor pattern or template.</summary>
    /// <exception cref="RecordAccessorSyntaxException">The pattern is not valid.</exception>
    public static RecordAccessor Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return new RecordAccessor(pattern, RecordAccessorParser.Parse(pattern), legacy: false);
    }

    /// <summary>Compiles a template in the Go cloudwatch plugin's <c>$(...)</c> syntax.</summary>
    /// <exception cref="RecordAccessorSyntaxException">The template is not valid.</exception>
    public static RecordAccessor ParseLegacyTemplate(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return new RecordAccessor(pattern, LegacyTemplateParser.Parse(pattern), legacy: true);
    }

    public static bool TryParse(string pattern, out RecordAccessor? accessor, out string? error)
    {
        try
        {
            accessor = Parse(pattern);
            error = null;
            return true;
        }
        catch (RecordAccessorSyntaxException ex)
        {
            accessor = null;
            error = ex.Message;
            return false;
        }
    }

    /// <summary>
    /// Finds the value the pattern's first piece points at, as flb_ra_get_kv_pair: a key accessor is looked up
    /// with its sub-keys; a pattern that starts with plain text looks that text up as a top-level key (Fluent Bit
    /// keeps literal pieces in the same key slot, so <c>foo</c> and <c>$foo</c> both find key "foo"). False when
    /// nothing is found or the record is not a map.
    /// </summary>
    public bool TryGetValue(ReadOnlySpan<byte> recordMsgpack, out MsgpackValueRef value)
    {
        if (_parts.Length > 0 && _parts[0].Kind is RecordAccessorPartKind.Key or RecordAccessorPartKind.Literal)
        {
            return TryLookup(_parts[0], recordMsgpack, out value);
        }

        value = default;
        return false;
    }

    /// <summary>
    /// Renders the template into <paramref name="output"/> as UTF-8 (flb_ra_translate). With
    /// <paramref name="strict"/> (flb_ra_translate_check; always for the legacy syntax) a missing key or tag part
    /// makes it return false, and what was written must be discarded.
    /// </summary>
    public bool RenderTemplate(string tag, ReadOnlySpan<byte> recordMsgpack, IBufferWriter<byte> output, bool strict = false)
    {
        strict |= IsLegacyTemplate;
        foreach (var part in _parts)
        {
            switch (part.Kind)
            {
                case RecordAccessorPartKind.Literal:
                    output.Write(part.Utf8);
                    break;
                case RecordAccessorPartKind.Tag:
                    WriteUtf8(output, tag);
                    break;
                case RecordAccessorPartKind.TagPart:
                    if (!WriteTagPart(output, tag, part.Number) && strict)
                    {
                        return false;
                    }

                    break;
                case RecordAccessorPartKind.Key:
                    if (!TryLookup(part, recordMsgpack, out var value) || !WriteValueText(output, recordMsgpack, value))
                    {
                        if (strict)
                        {
                            return false;
                        }
                    }

                    break;
                case RecordAccessorPartKind.RegexCapture:
                    break; // no capture context here: Fluent Bit skips the piece too
            }
        }

        return true;
    }

    /// <summary>Convenience for config-time and test use; allocates the result string.</summary>
    public string? RenderTemplate(string tag, ReadOnlySpan<byte> recordMsgpack, bool strict = false)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        return RenderTemplate(tag, recordMsgpack, buffer, strict) ? Encoding.UTF8.GetString(buffer.WrittenSpan) : null;
    }

    public override string ToString() => Pattern;

    /// <summary>Looks up one key accessor (flb_ra_key_value_get / subkey_to_object).</summary>
    internal static bool TryLookup(RecordAccessorPart part, ReadOnlySpan<byte> record, out MsgpackValueRef value)
    {
        value = default;
        try
        {
            if (!MsgpackMapLookup.TryFindLast(record, 0, part.Utf8, out var position))
            {
                return false;
            }

            var current = ValueAt(record, position);
            if (part.Subkeys.Length == 0 || current.Kind is not (MsgpackKind.Map or MsgpackKind.Array))
            {
                // flb_ra_key_to_value: sub-keys only apply to a map or array root; a scalar root answers itself.
                value = current;
                return true;
            }

            foreach (var subkey in part.Subkeys)
            {
                if (subkey.IsIndex)
                {
                    if (current.Kind != MsgpackKind.Array || subkey.Index >= current.Token.Length)
                    {
                        return false;
                    }

                    var cursor = new MsgpackCursor(record, current.Start);
                    cursor.Read();
                    var element = cursor.Position;
                    for (var k = 0; k < subkey.Index; k++)
                    {
                        element = MsgpackWalker.Skip(record, element);
                    }

                    current = ValueAt(record, element);
                }
                else
                {
                    if (current.Kind != MsgpackKind.Map || !MsgpackMapLookup.TryFindLast(record, current.Start, subkey.Key, out position))
                    {
                        return false;
                    }

                    current = ValueAt(record, position);
                }
            }

            value = current;
            return true;
        }
        catch (MsgpackFormatException)
        {
            return false; // malformed record: nothing found, never a crash
        }
    }

    internal static MsgpackValueRef ValueAt(ReadOnlySpan<byte> record, int position)
    {
        var cursor = new MsgpackCursor(record, position);
        var token = cursor.Read();
        var end = token.Kind is MsgpackKind.Map or MsgpackKind.Array ? MsgpackWalker.Skip(record, position) : cursor.Position;
        return new MsgpackValueRef(token, position, end);
    }

    /// <summary>A value's text as ra_translate_keymap writes it; false for kinds it has no text for.</summary>
    internal static bool WriteValueText(IBufferWriter<byte> output, ReadOnlySpan<byte> record, in MsgpackValueRef value)
    {
        var token = value.Token;
        switch (token.Kind)
        {
            case MsgpackKind.String:
                output.Write(value.Payload(record));
                return true;
            case MsgpackKind.Boolean:
                output.Write(token.Boolean ? "true"u8 : "false"u8);
                return true;
            case MsgpackKind.PositiveInteger:
                CNumberFormat.WriteInt64(output, unchecked((long)token.UInt64)); // PRId64 of the via.i64 union member
                return true;
            case MsgpackKind.NegativeInteger:
                CNumberFormat.WriteInt64(output, token.Int64);
                return true;
            case MsgpackKind.Float32:
            case MsgpackKind.Float64:
                Span<byte> text = stackalloc byte[CNumberFormat.MaxLength];
                var length = Math.Min(CNumberFormat.FormatFixed(token.Double, 6, text), MaxFloatText);
                output.Write(text[..length]);
                return true;
            case MsgpackKind.Nil:
                output.Write("null"u8);
                return true;
            case MsgpackKind.Map:
                FluentJson.WriteValue(value.Encoded(record), output);
                return true;
            default:
                return false; // arrays, binaries, extensions: flb_ra_key_to_value has no value for them
        }
    }

    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }

    /// <summary>
    /// The n-th dot-separated part of the tag. Fluent Bit mode follows ra_translate_tag_part (a tag without dots is
    /// its own part 0, a trailing dot adds no empty part); the legacy mode splits like Go's strings.Split.
    /// </summary>
    private bool WriteTagPart(IBufferWriter<byte> output, string tag, int index)
    {
        if (IsLegacyTemplate)
        {
            var start = 0;
            for (var id = 0; ; id++)
            {
                var dot = tag.IndexOf('.', start);
                var end = dot < 0 ? tag.Length : dot;
                if (id == index)
                {
                    WriteUtf8(output, tag.AsSpan(start, end - start));
                    return true;
                }

                if (dot < 0)
                {
                    return false;
                }

                start = dot + 1;
            }
        }

        var i = 0;
        var part = -1;
        while (i < tag.Length)
        {
            var dot = tag.IndexOf('.', i);
            int length;
            if (dot < 0)
            {
                if (i == 0)
                {
                    break;
                }

                length = tag.Length - i;
            }
            else
            {
                length = dot - i;
            }

            part++;
            if (part == index)
            {
                WriteUtf8(output, tag.AsSpan(i, length));
                return true;
            }

            i += length + 1;
        }

        if (index == 0 && part == -1 && i < tag.Length)
        {
            WriteUtf8(output, tag);
            return true;
        }

        return false;
    }
}
