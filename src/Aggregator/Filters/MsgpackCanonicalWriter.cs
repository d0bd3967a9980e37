using System.Buffers;
using System.Buffers.Binary;
using Gateway.Engine.Json;
using Gateway.Engine.RecordAccessor;

namespace Gateway.Aggregator.Filters;

/// <summary>
/// Writes msgpack the way msgpack-c's packer does (smallest header for every value, non-negative integers as
/// unsigned, float32 kept as float32). Fluent Bit filters that change a record unpack it and pack every kept value
/// again with msgpack_pack_object, so a rewritten record must go through here to match their bytes exactly.
/// </summary>
internal static class MsgpackCanonicalWriter
{
    /// <summary>Re-packs the complete value at the cursor and advances past it.</summary>
    public static void CopyValue(ref MsgpackCursor cursor, IBufferWriter<byte> output)
    {
        long pending = 1;
        while (pending > 0)
        {
            pending--;
            var token = cursor.Read();
            WriteToken(cursor.Buffer, token, output);
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

    /// <summary>Re-packs the value starting at <paramref name="start"/>.</summary>
    public static void CopyValue(ReadOnlySpan<byte> buffer, int start, IBufferWriter<byte> output)
    {
        var cursor = new MsgpackCursor(buffer, start);
        CopyValue(ref cursor, output);
    }

    /// <summary>
    /// Re-packs the complete values in <c>[start, end)</c>. Input from Fluent Bit or any msgpack-c client is already
    /// packed this way, so the bytes are first checked and, when nothing would change, copied in one block.
    /// </summary>
    public static void CopyRange(ReadOnlySpan<byte> buffer, int start, int end, IBufferWriter<byte> output)
    {
        if (end <= start)
        {
            return;
        }

        if (MsgpackWalker.IsCanonical(buffer, start, end))
        {
            output.Write(buffer[start..end]);
            return;
        }

        var cursor = new MsgpackCursor(buffer, start);
        while (cursor.Position < end)
        {
            CopyValue(ref cursor, output);
        }
    }

    public static void WriteMapHeader(IBufferWriter<byte> output, int count) => WriteContainerHeader(output, count, 0x80, 0xde);

    public static void WriteArrayHeader(IBufferWriter<byte> output, int count) => WriteContainerHeader(output, count, 0x90, 0xdc);

    public static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8)
    {
        WriteStringHeader(output, utf8.Length);
        output.Write(utf8);
    }

    /// <summary>A string made of two pieces (a prefix and a key), without joining them first.</summary>
    public static void WriteString(IBufferWriter<byte> output, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second)
    {
        WriteStringHeader(output, first.Length + second.Length);
        output.Write(first);
        output.Write(second);
    }

    public static void WriteStringHeader(IBufferWriter<byte> output, int length)
    {
        var span = output.GetSpan(5);
        if (length < 32)
        {
            span[0] = (byte)(0xa0 | length);
            output.Advance(1);
        }
        else if (length <= byte.MaxValue)
        {
            span[0] = 0xd9;
            span[1] = (byte)length;
            output.Advance(2);
        }
        else if (length <= ushort.MaxValue)
        {
            span[0] = 0xda;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
            output.Advance(3);
        }
        else
        {
            span[0] = 0xdb;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            output.Advance(5);
        }
    }

    private static void WriteToken(ReadOnlySpan<byte> buffer, in MsgpackToken token, IBufferWriter<byte> output)
    {
        Span<byte> span;
        switch (token.Kind)
        {
            case MsgpackKind.Nil:
                WriteByte(output, 0xc0);
                break;
            case MsgpackKind.Boolean:
                WriteByte(output, token.Boolean ? (byte)0xc3 : (byte)0xc2);
                break;
            case MsgpackKind.PositiveInteger:
                WriteUnsigned(output, token.UInt64);
                break;
            case MsgpackKind.NegativeInteger:
                WriteNegative(output, token.Int64);
                break;
            case MsgpackKind.Float32:
                span = output.GetSpan(5);
                span[0] = 0xca;
                BinaryPrimitives.WriteSingleBigEndian(span[1..], (float)token.Double);
                output.Advance(5);
                break;
            case MsgpackKind.Float64:
                span = output.GetSpan(9);
                span[0] = 0xcb;
                BinaryPrimitives.WriteDoubleBigEndian(span[1..], token.Double);
                output.Advance(9);
                break;
            case MsgpackKind.String:
                WriteString(output, buffer.Slice(token.Offset, token.Length));
                break;
            case MsgpackKind.Binary:
                WriteBinaryHeader(output, token.Length);
                output.Write(buffer.Slice(token.Offset, token.Length));
                break;
            case MsgpackKind.Extension:
                WriteExtensionHeader(output, token.Length, token.ExtType);
                output.Write(buffer.Slice(token.Offset, token.Length));
                break;
            case MsgpackKind.Array:
                WriteArrayHeader(output, token.Length);
                break;
            case MsgpackKind.Map:
                WriteMapHeader(output, token.Length);
                break;
        }
    }

    private static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static void WriteUnsigned(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(9);
        if (value < 128)
        {
            span[0] = (byte)value;
            output.Advance(1);
        }
        else if (value <= byte.MaxValue)
        {
            span[0] = 0xcc;
            span[1] = (byte)value;
            output.Advance(2);
        }
        else if (value <= ushort.MaxValue)
        {
            span[0] = 0xcd;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)value);
            output.Advance(3);
        }
        else if (value <= uint.MaxValue)
        {
            span[0] = 0xce;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)value);
            output.Advance(5);
        }
        else
        {
            span[0] = 0xcf;
            BinaryPrimitives.WriteUInt64BigEndian(span[1..], value);
            output.Advance(9);
        }
    }

    private static void WriteNegative(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(9);
        if (value >= -32)
        {
            span[0] = unchecked((byte)(sbyte)value);
            output.Advance(1);
        }
        else if (value >= sbyte.MinValue)
        {
            span[0] = 0xd0;
            span[1] = unchecked((byte)(sbyte)value);
            output.Advance(2);
        }
        else if (value >= short.MinValue)
        {
            span[0] = 0xd1;
            BinaryPrimitives.WriteInt16BigEndian(span[1..], (short)value);
            output.Advance(3);
        }
        else if (value >= int.MinValue)
        {
            span[0] = 0xd2;
            BinaryPrimitives.WriteInt32BigEndian(span[1..], (int)value);
            output.Advance(5);
        }
        else
        {
            span[0] = 0xd3;
            BinaryPrimitives.WriteInt64BigEndian(span[1..], value);
            output.Advance(9);
        }
    }

    private static void WriteBinaryHeader(IBufferWriter<byte> output, int length)
    {
        var span = output.GetSpan(5);
        if (length <= byte.MaxValue)
        {
            span[0] = 0xc4;
            span[1] = (byte)length;
            output.Advance(2);
        }
        else if (length <= ushort.MaxValue)
        {
            span[0] = 0xc5;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
            output.Advance(3);
        }
        else
        {
            span[0] = 0xc6;
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
            output.Advance(5);
        }
    }

    private static void WriteExtensionHeader(IBufferWriter<byte> output, int length, sbyte type)
    {
        var span = output.GetSpan(6);
        int used;
        switch (length)
        {
            case 1: span[0] = 0xd4; used = 1; break;
            case 2: span[0] = 0xd5; used = 1; break;
            case 4: span[0] = 0xd6; used = 1; break;
            case 8: span[0] = 0xd7; used = 1; break;
            case 16: span[0] = 0xd8; used = 1; break;
            default:
                if (length <= byte.MaxValue)
                {
                    span[0] = 0xc7;
                    span[1] = (byte)length;
                    used = 2;
                }
                else if (length <= ushort.MaxValue)
                {
                    span[0] = 0xc8;
                    BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)length);
                    used = 3;
                }
                else
                {
                    span[0] = 0xc9;
                    BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
                    used = 5;
                }

                break;
        }

        span[used] = unchecked((byte)type);
        output.Advance(used + 1);
    }

    private static void WriteContainerHeader(IBufferWriter<byte> output, int count, byte fix, byte code16)
    {
        var span = output.GetSpan(5);
        if (count < 16)
        {
            span[0] = (byte)(fix | count);
            output.Advance(1);
        }
        else if (count <= ushort.MaxValue)
        {
            span[0] = code16;
            BinaryPrimitives.WriteUInt16BigEndian(span[1..], (ushort)count);
            output.Advance(3);
        }
        else
        {
            span[0] = (byte)(code16 + 1);
            BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)count);
            output.Advance(5);
        }
    }
}
