using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Gateway.Engine.Json;

namespace Gateway.Engine.RecordAccessor;

/// <summary>
/// The filters' inner loop: steps over msgpack values by their header bytes alone (no token decoding), and can
/// at the same time check that every header is the one msgpack-c would write. Bounds-checked: truncated or
/// invalid input throws <see cref="MsgpackFormatException"/>, and each step consumes at least one byte, so a
/// hostile element count cannot make it loop past the buffer.
/// </summary>
internal static class MsgpackWalker
{
    /// <summary>The position just past the complete value at <paramref name="position"/>.</summary>
    public static int Skip(ReadOnlySpan<byte> buffer, int position)
    {
        Walk(buffer, position, 1, checkCanonical: false, out var end);
        return end;
    }

    /// <summary>True when every value in <c>[start, end)</c> is packed as msgpack-c packs it.</summary>
    public static bool IsCanonical(ReadOnlySpan<byte> buffer, int start, int end)
    {
        var position = start;
        while (position < end)
        {
            if (!Walk(buffer, position, 1, checkCanonical: true, out position))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Walk(ReadOnlySpan<byte> b, int position, long pending, bool checkCanonical, out int end)
    {
        var p = position;
        while (pending > 0)
        {
            pending--;
            if ((uint)p >= (uint)b.Length)
            {
                throw Truncated(p);
            }

            var c = b[p];
            if (c <= 0x7f || c >= 0xe0)
            {
                p++;
                continue;
            }

            if (c <= 0x8f)
            {
                pending += 2L * (c & 0x0f);
                p++;
                continue;
            }

            if (c <= 0x9f)
            {
                pending += c & 0x0f;
                p++;
                continue;
            }

            if (c <= 0xbf)
            {
                p += 1 + (c & 0x1f);
                continue;
            }

            ulong n;
            switch (c)
            {
                case 0xc0 or 0xc2 or 0xc3:
                    p++;
                    break;
                case 0xca:
                    p += 5;
                    break;
                case 0xcb:
                    p += 9;
                    break;
                case 0xc4:
                    p += 2 + (int)U8(b, p);
                    break;
                case 0xd9:
                    n = U8(b, p);
                    if (checkCanonical && n < 32)
                    {
                        return NotCanonical(out end);
                    }

                    p += 2 + (int)n;
                    break;
                case 0xc5 or 0xda:
                    n = U16(b, p);
                    if (checkCanonical && n <= byte.MaxValue)
                    {
                        return NotCanonical(out end);
                    }

                    p += 3 + (int)n;
                    break;
                case 0xc6 or 0xdb:
                    n = U32(b, p);
                    if (checkCanonical && n <= ushort.MaxValue)
                    {
                        return NotCanonical(out end);
                    }

                    p = Advance(p, 5, n);
                    break;
                case 0xc7:
                    n = U8(b, p);
                    if (checkCanonical && n is 1 or 2 or 4 or 8 or 16)
                    {
                        return NotCanonical(out end);
                    }

                    p += 3 + (int)n;
                    break;
                case 0xc8:
                    n = U16(b, p);
                    if (checkCanonical && n <= byte.MaxValue)
                    {
                        return NotCanonical(out end);
                    }

                    p += 4 + (int)n;
                    break;
                case 0xc9:
                    n = U32(b, p);
                    if (checkCanonical && n <= ushort.MaxValue)
                    {
                        return NotCanonical(out end);
                    }

                    p = Advance(p, 6, n);
                    break;
                case 0xcc:
                    if (checkCanonical && U8(b, p) < 128)
                    {
                        return NotCanonical(out end);
                    }

                    p += 2;
                    break;
                case 0xcd:
                    if (checkCanonical && U16(b, p) <= byte.MaxValue)
                    {
                        return NotCanonical(out end);
                    }

                    p += 3;
                    break;
                case 0xce:
                    if (checkCanonical && U32(b, p) <= ushort.MaxValue)
                    {
                        return NotCanonical(out end);
                    }

                    p += 5;
                    break;
                case 0xcf:
                    if (checkCanonical && Need(b, p, 8) && BinaryPrimitives.ReadUInt64BigEndian(b[(p + 1)..]) <= uint.MaxValue)
                    {
                        return NotCanonical(out end);
                    }

                    p += 9;
                    break;
                case 0xd0:
                    if (checkCanonical && Need(b, p, 1) && (sbyte)b[p + 1] >= -32)
                    {
                        return NotCanonical(out end);
                    }

                    p += 2;
                    break;
                case 0xd1:
                    if (checkCanonical && Need(b, p, 2) && BinaryPrimitives.ReadInt16BigEndian(b[(p + 1)..]) >= sbyte.MinValue)
                    {
                        return NotCanonical(out end);
                    }

                    p += 3;
                    break;
                case 0xd2:
                    if (checkCanonical && Need(b, p, 4) && BinaryPrimitives.ReadInt32BigEndian(b[(p + 1)..]) >= short.MinValue)
                    {
                        return NotCanonical(out end);
                    }

                    p += 5;
                    break;
                case 0xd3:
                    if (checkCanonical && Need(b, p, 8) && BinaryPrimitives.ReadInt64BigEndian(b[(p + 1)..]) >= int.MinValue)
                    {
                        return NotCanonical(out end);
                    }

                    p += 9;
                    break;
                case 0xd4:
                    p += 3;
                    break;
                case 0xd5:
                    p += 4;
                    break;
                case 0xd6:
                    p += 6;
                    break;
                case 0xd7:
                    p += 10;
                    break;
                case 0xd8:
                    p += 18;
                    break;
                case 0xdc or 0xde:
                    n = U16(b, p);
                    if (checkCanonical && n < 16)
                    {
                        return NotCanonical(out end);
                    }

                    pending += c == 0xde ? 2 * (long)n : (long)n;
                    p += 3;
                    break;
                case 0xdd or 0xdf:
                    n = U32(b, p);
                    if (checkCanonical && n <= ushort.MaxValue)
                    {
                        return NotCanonical(out end);
                    }

                    pending += c == 0xdf ? 2 * (long)n : (long)n;
                    p += 5;
                    break;
                default:
                    throw new MsgpackFormatException($"invalid msgpack type byte 0x{c:x2}", p);
            }
        }

        if (p > b.Length)
        {
            throw Truncated(position);
        }

        end = p;
        return true;
    }

    private static bool NotCanonical(out int end)
    {
        end = -1;
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Need(ReadOnlySpan<byte> b, int p, int count) =>
        b.Length - p > count ? true : throw Truncated(p);

    private static uint U8(ReadOnlySpan<byte> b, int p) => Need(b, p, 1) ? b[p + 1] : 0u;

    private static uint U16(ReadOnlySpan<byte> b, int p) => Need(b, p, 2) ? BinaryPrimitives.ReadUInt16BigEndian(b[(p + 1)..]) : 0u;

    private static uint U32(ReadOnlySpan<byte> b, int p) => Need(b, p, 4) ? BinaryPrimitives.ReadUInt32BigEndian(b[(p + 1)..]) : 0u;

    private static int Advance(int p, int header, ulong length) =>
        length > int.MaxValue - (ulong)p - (ulong)header ? throw Truncated(p) : p + header + (int)length;

    private static MsgpackFormatException Truncated(int position) => new("truncated msgpack value", position);
}
