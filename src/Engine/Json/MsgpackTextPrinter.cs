using System.Buffers;

namespace Gateway.Engine.Json;

/// <summary>
/// msgpack-c's <c>msgpack_object_print</c>, which Fluent Bit's stdout output and the file output's csv/ltsv/template
/// formats use: Ruby-hash style maps <c>{"k"=>"v", "n"=>1}</c>, strings in quotes but not escaped, binaries with
/// <c>\"</c> and <c>\xNN</c> for unprintable bytes, <c>nil</c>, doubles as <c>%f</c>.
/// </summary>
internal static class MsgpackTextPrinter
{
    private static ReadOnlySpan<byte> HexDigits => "0123456789abcdef"u8;

    /// <summary>Prints the value at the start of <paramref name="msgpack"/>; returns the bytes used.</summary>
    public static int Print(ReadOnlySpan<byte> msgpack, IBufferWriter<byte> output)
    {
        var cursor = new MsgpackCursor(msgpack);
        Print(ref cursor, output, 0);
        return cursor.Position;
    }

    public static void Print(ref MsgpackCursor cursor, IBufferWriter<byte> output, int depth)
    {
        var token = cursor.ReadNested(depth);
        switch (token.Kind)
        {
            case MsgpackKind.Nil:
                output.Write("nil"u8);
                break;
            case MsgpackKind.Boolean:
            case MsgpackKind.PositiveInteger:
            case MsgpackKind.NegativeInteger:
                FluentJson.WriteBooleanOrInteger(token, output);
                break;
            case MsgpackKind.Float32:
            case MsgpackKind.Float64:
                CNumberFormat.WriteFixed6(output, token.Double);
                break;
            case MsgpackKind.String:
                FluentJson.WriteByte(output, (byte)'"');
                output.Write(cursor.Payload(token));
                FluentJson.WriteByte(output, (byte)'"');
                break;
            case MsgpackKind.Binary:
                FluentJson.WriteByte(output, (byte)'"');
                PrintBinary(cursor.Payload(token), output);
                FluentJson.WriteByte(output, (byte)'"');
                break;
            case MsgpackKind.Extension:
                output.Write("(ext: "u8);
                CNumberFormat.WriteInt64(output, token.ExtType);
                output.Write(")\""u8);
                PrintBinary(cursor.Payload(token), output);
                FluentJson.WriteByte(output, (byte)'"');
                break;
            case MsgpackKind.Array:
                FluentJson.WriteByte(output, (byte)'[');
                for (var i = 0; i < token.Length; i++)
                {
                    if (i > 0)
                    {
                        output.Write(", "u8);
                    }

                    Print(ref cursor, output, depth + 1);
                }

                FluentJson.WriteByte(output, (byte)']');
                break;
            case MsgpackKind.Map:
                FluentJson.WriteByte(output, (byte)'{');
                for (var i = 0; i < token.Length; i++)
                {
                    if (i > 0)
                    {
                        output.Write(", "u8);
                    }

                    Print(ref cursor, output, depth + 1);
                    output.Write("=>"u8);
                    Print(ref cursor, output, depth + 1);
                }

                FluentJson.WriteByte(output, (byte)'}');
                break;
        }
    }

    private static void PrintBinary(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        foreach (var b in bytes)
        {
            var span = output.GetSpan(4);
            if (b == (byte)'"')
            {
                span[0] = (byte)'\\';
                span[1] = (byte)'"';
                output.Advance(2);
            }
            else if (b >= 0x20 && b <= 0x7e)
            {
                span[0] = b;
                output.Advance(1);
            }
            else
            {
                span[0] = (byte)'\\';
                span[1] = (byte)'x';
                span[2] = HexDigits[b >> 4];
                span[3] = HexDigits[b & 0xf];
                output.Advance(4);
            }
        }
    }
}
