using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace Gateway.Engine.Json;

/// <summary>The msgpack value families, normalised as msgpack-c does (a non-negative signed int is positive).</summary>
internal enum MsgpackKind : byte
{
    Nil,
    Boolean,
    PositiveInteger,
    NegativeInteger,
    Float32,
    Float64,
    String,
    Binary,
    Extension,
    Array,
    Map,
}

/// <summary>One decoded msgpack header; payload-bearing kinds point into the cursor's buffer.</summary>
internal struct MsgpackToken
{
    public MsgpackKind Kind;

    public bool Boolean;

    public ulong UInt64;

    public long Int64;

    public double Double;

    /// <summary>Payload offset (string/binary/ext) in the cursor's buffer.</summary>
    public int Offset;

    /// <summary>Payload byte length (string/binary/ext) or element count (array/map).</summary>
    public int Length;

    public sbyte ExtType;
}

/// <summary>
/// A forward-only msgpack reader over one contiguous span. Hand-written rather than MessagePackReader because the
/// formatters need payload offsets into the original buffer (for zero-copy key comparison and slicing) and every
/// malformed input must become a <see cref="MsgpackFormatException"/> with an offset, never another exception.
/// </summary>
internal ref struct MsgpackCursor
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public MsgpackCursor(ReadOnlySpan<byte> buffer, int position = 0)
    {
        _buffer = buffer;
        _position = position;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _buffer.Length - _position;

    public readonly bool End => _position >= _buffer.Length;

    public readonly ReadOnlySpan<byte> Buffer => _buffer;

    public readonly ReadOnlySpan<byte> Payload(in MsgpackToken token) => _buffer.Slice(token.Offset, token.Length);

    /// <summary>Reads one header (and steps over the payload of strings, binaries and extensions).</summary>
    public MsgpackToken Read()
    {
        var start = _position;
        if (_position >= _buffer.Length)
        {
            throw new MsgpackFormatException("unexpected end of msgpack data", start);
        }

        var b = _buffer[_position++];
        var token = default(MsgpackToken);
        switch (b)
        {
            case <= 0x7f:
                token.Kind = MsgpackKind.PositiveInteger;
                token.UInt64 = b;
                return token;
            case >= 0xe0:
                token.Kind = MsgpackKind.NegativeInteger;
                token.Int64 = (sbyte)b;
                return token;
            case >= 0x80 and <= 0x8f:
                return Container(MsgpackKind.Map, b & 0x0f, start);
            case >= 0x90 and <= 0x9f:
                return Container(MsgpackKind.Array, b & 0x0f, start);
            case >= 0xa0 and <= 0xbf:
                return Bytes(MsgpackKind.String, b & 0x1f, start);
            case 0xc0:
                token.Kind = MsgpackKind.Nil;
                return token;
            case 0xc2:
            case 0xc3:
                token.Kind = MsgpackKind.Boolean;
                token.Boolean = b == 0xc3;
                return token;
            case 0xc4:
                return Bytes(MsgpackKind.Binary, Take(1, start)[0], start);
            case 0xc5:
                return Bytes(MsgpackKind.Binary, BinaryPrimitives.ReadUInt16BigEndian(Take(2, start)), start);
            case 0xc6:
                return Bytes(MsgpackKind.Binary, Length32(start), start);
            case 0xc7:
                return Ext(Take(1, start)[0], start);
            case 0xc8:
                return Ext(BinaryPrimitives.ReadUInt16BigEndian(Take(2, start)), start);
            case 0xc9:
                return Ext(Length32(start), start);
            case 0xca:
                token.Kind = MsgpackKind.Float32;
                token.Double = BinaryPrimitives.ReadSingleBigEndian(Take(4, start));
                return token;
            case 0xcb:
                token.Kind = MsgpackKind.Float64;
                token.Double = BinaryPrimitives.ReadDoubleBigEndian(Take(8, start));
                return token;
            case 0xcc:
                return Unsigned(Take(1, start)[0]);
            case 0xcd:
                return Unsigned(BinaryPrimitives.ReadUInt16BigEndian(Take(2, start)));
            case 0xce:
                return Unsigned(BinaryPrimitives.ReadUInt32BigEndian(Take(4, start)));
            case 0xcf:
                return Unsigned(BinaryPrimitives.ReadUInt64BigEndian(Take(8, start)));
            case 0xd0:
                return Signed((sbyte)Take(1, start)[0]);
            case 0xd1:
                return Signed(BinaryPrimitives.ReadInt16BigEndian(Take(2, start)));
            case 0xd2:
                return Signed(BinaryPrimitives.ReadInt32BigEndian(Take(4, start)));
            case 0xd3:
                return Signed(BinaryPrimitives.ReadInt64BigEndian(Take(8, start)));
            case 0xd4:
                return Ext(1, start);
            case 0xd5:
                return Ext(2, start);
            case 0xd6:
                return Ext(4, start);
            case 0xd7:
                return Ext(8, start);
            case 0xd8:
                return Ext(16, start);
            case 0xd9:
                return Bytes(MsgpackKind.String, Take(1, start)[0], start);
            case 0xda:
                return Bytes(MsgpackKind.String, BinaryPrimitives.ReadUInt16BigEndian(Take(2, start)), start);
            case 0xdb:
                return Bytes(MsgpackKind.String, Length32(start), start);
            case 0xdc:
                return Container(MsgpackKind.Array, BinaryPrimitives.ReadUInt16BigEndian(Take(2, start)), start);
            case 0xdd:
                return Container(MsgpackKind.Array, Length32(start), start);
            case 0xde:
                return Container(MsgpackKind.Map, BinaryPrimitives.ReadUInt16BigEndian(Take(2, start)), start);
            case 0xdf:
                return Container(MsgpackKind.Map, Length32(start), start);
            default:
                throw new MsgpackFormatException($"invalid msgpack type byte 0x{b:x2}", start);
        }
    }

    /// <summary>
    /// <see cref="Read"/> for a recursive writer at nesting <paramref name="depth"/>: deeper than
    /// <see cref="FluentJson.MaxDepth"/> is refused, so hostile input cannot steer the writer into a stack overflow.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MsgpackToken ReadNested(int depth)
    {
        if (depth > FluentJson.MaxDepth)
        {
            ThrowTooDeep(_position);
        }

        return Read();
    }

    /// <summary>Steps over one complete value, iteratively so hostile nesting cannot overflow the stack.</summary>
    public void Skip()
    {
        long pending = 1;
        while (pending > 0)
        {
            pending--;
            var token = Read();
            if (token.Kind == MsgpackKind.Array)
            {
                pending += token.Length;
            }
            else if (token.Kind == MsgpackKind.Map)
            {
                pending += 2L * token.Length;
            }
        }
    }

    private static MsgpackToken Unsigned(ulong value) =>
        new() { Kind = MsgpackKind.PositiveInteger, UInt64 = value };

    private static MsgpackToken Signed(long value) =>
        value >= 0
            ? new MsgpackToken { Kind = MsgpackKind.PositiveInteger, UInt64 = (ulong)value }
            : new MsgpackToken { Kind = MsgpackKind.NegativeInteger, Int64 = value };

    private ReadOnlySpan<byte> Take(int count, int start)
    {
        if (_buffer.Length - _position < count)
        {
            throw new MsgpackFormatException("truncated msgpack value", start);
        }

        var span = _buffer.Slice(_position, count);
        _position += count;
        return span;
    }

    private int Length32(int start)
    {
        var length = BinaryPrimitives.ReadUInt32BigEndian(Take(4, start));
        if (length > int.MaxValue)
        {
            throw new MsgpackFormatException($"msgpack length {length} is too large", start);
        }

        return (int)length;
    }

    private MsgpackToken Bytes(MsgpackKind kind, int length, int start)
    {
        if (_buffer.Length - _position < length)
        {
            throw new MsgpackFormatException($"truncated msgpack {(kind == MsgpackKind.String ? "string" : "binary")} of {length} bytes", start);
        }

        var token = new MsgpackToken { Kind = kind, Offset = _position, Length = length };
        _position += length;
        return token;
    }

    private MsgpackToken Ext(int length, int start)
    {
        var type = (sbyte)Take(1, start)[0];
        if (_buffer.Length - _position < length)
        {
            throw new MsgpackFormatException($"truncated msgpack extension of {length} bytes", start);
        }

        var token = new MsgpackToken { Kind = MsgpackKind.Extension, Offset = _position, Length = length, ExtType = type };
        _position += length;
        return token;
    }

    private readonly MsgpackToken Container(MsgpackKind kind, int count, int start)
    {
        // Every element takes at least one byte, so a count beyond the remaining bytes is a truncated (or hostile)
        // header; rejecting it here keeps pooled scratch arrays sized by real data.
        var minimum = kind == MsgpackKind.Map ? 2L * count : count;
        if (minimum > _buffer.Length - _position)
        {
            throw new MsgpackFormatException($"truncated msgpack {(kind == MsgpackKind.Map ? "map" : "array")} of {count} elements", start);
        }

        return new MsgpackToken { Kind = kind, Length = count };
    }

    [DoesNotReturn]
    private static void ThrowTooDeep(int position) =>
        throw new MsgpackFormatException($"msgpack nesting deeper than {FluentJson.MaxDepth}", position);
}
