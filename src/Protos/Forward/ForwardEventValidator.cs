using System.Buffers;
using System.Buffers.Binary;
using MessagePack;

namespace Gateway.Protos.Forward;

/// <summary>
/// Checks that msgpack bytes are Fluent events exactly as <c>Gateway.Engine.Records.EventReader</c> will read
/// them later (Protos cannot reference Engine, which depends on Protos): <c>[time, record]</c> or
/// <c>[[time, metadata], record]</c>, time an integer in uint32 range, a finite non-negative float, or EventTime
/// (ext 0, 8 bytes); metadata a map or nil; record a map. Anything accepted here must never make the engine throw.
/// </summary>
internal static class ForwardEventValidator
{
    /// <summary>Validates one event at the reader's position and moves past it; returns the problem or null.</summary>
    public static string? ReadEvent(ref MessagePackReader reader, long eventOffset)
    {
        if (reader.NextMessagePackType != MessagePackType.Array)
        {
            return $"event at offset {eventOffset} is {Describe(reader.NextMessagePackType)}, expected [time, record]";
        }

        var n = reader.ReadArrayHeader();
        if (n != 2)
        {
            return $"event at offset {eventOffset} has {n} elements, expected [time, record]";
        }

        if (reader.NextMessagePackType == MessagePackType.Array)
        {
            var headerLength = reader.ReadArrayHeader();
            if (headerLength < 1)
            {
                return $"event at offset {eventOffset} has an empty [time, metadata] header";
            }

            var timeError = ReadTime(ref reader, eventOffset);
            if (timeError is not null)
            {
                return timeError;
            }

            if (headerLength >= 2)
            {
                if (reader.NextMessagePackType is not (MessagePackType.Map or MessagePackType.Nil))
                {
                    return $"event at offset {eventOffset} has metadata that is {Describe(reader.NextMessagePackType)}, expected a map";
                }

                for (var i = 1; i < headerLength; i++)
                {
                    reader.Skip();
                }
            }
        }
        else
        {
            var timeError = ReadTime(ref reader, eventOffset);
            if (timeError is not null)
            {
                return timeError;
            }
        }

        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            return $"event at offset {eventOffset} has a record that is {Describe(reader.NextMessagePackType)}, expected a map";
        }

        reader.Skip();
        return null;
    }

    /// <summary>Validates a time at the reader's position and moves past it; returns the problem or null.</summary>
    public static string? ReadTime(ref MessagePackReader reader, long eventOffset)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Integer:
                if (reader.NextCode == MessagePackCode.UInt64)
                {
                    var big = reader.ReadUInt64();
                    return big > uint.MaxValue ? $"event at offset {eventOffset} has time {big} out of range" : null;
                }

                var seconds = reader.ReadInt64();
                return seconds is < 0 or > uint.MaxValue ? $"event at offset {eventOffset} has time {seconds} out of range" : null;
            case MessagePackType.Float:
                var d = reader.ReadDouble();
                return double.IsNaN(d) || d < 0 || d > uint.MaxValue ? $"event at offset {eventOffset} has time {d} out of range" : null;
            case MessagePackType.Extension:
                var header = reader.ReadExtensionFormatHeader();
                if (header.TypeCode != 0 || header.Length != 8)
                {
                    return $"event at offset {eventOffset} has ext type {header.TypeCode} of {header.Length} bytes as time, expected EventTime (ext 0, 8 bytes)";
                }

                reader.ReadRaw(8);
                return null;
            default:
                return $"event at offset {eventOffset} has a time that is {Describe(reader.NextMessagePackType)}";
        }
    }

    /// <summary>
    /// Counts and validates concatenated events (a PackedForward payload). Each event is first framed by a
    /// <see cref="MessagePackFrameScanner"/> so hostile nesting or declared sizes in a payload that never went
    /// through the wire scanner (e.g. decompressed bytes) are refused before any recursive reader sees them.
    /// </summary>
    public static string? ValidatePacked(ReadOnlyMemory<byte> events, int maxDepth, out int count)
    {
        count = 0;
        var offset = 0;

        // Fast path: one walk over the span per event, accepting only what the exact path below accepts too.
        // The first event it is not sure about (or a bad one) goes to the exact path, which owns every error.
        var span = events.Span;
        while (offset < span.Length)
        {
            var end = offset;
            if (!TrySkipCommonEvent(span, ref end, maxDepth))
            {
                break;
            }

            offset = end;
            if (++count == int.MaxValue)
            {
                return "too many events";
            }
        }

        if (offset == events.Length)
        {
            return null;
        }

        var scanner = new MessagePackFrameScanner(Math.Max(1, events.Length), maxDepth);
        while (offset < events.Length)
        {
            var rest = events[offset..];
            scanner.Reset();
            switch (scanner.Scan(new ReadOnlySequence<byte>(rest)))
            {
                case FrameScanStatus.Incomplete:
                    return $"event at offset {offset} is truncated";
                case FrameScanStatus.Error when scanner.ErrorIsSizeLimit:
                    // The scanner's limit is the rest of the payload: the event declares more than is there.
                    return $"event at offset {offset} is truncated (it declares more bytes than the payload holds)";
                case FrameScanStatus.Error:
                    return $"event at offset {offset}: {scanner.Error}";
            }

            var length = (int)scanner.FrameLength;
            var reader = new MessagePackReader(rest[..length]);
            var error = ReadEvent(ref reader, offset);
            if (error is not null)
            {
                return error;
            }

            if (reader.Consumed != length)
            {
                return $"event at offset {offset} has trailing bytes";
            }

            offset += length;
            if (++count == int.MaxValue)
            {
                return "too many events";
            }
        }

        return null;
    }

    /// <summary>
    /// Moves <paramref name="position"/> past one event of the common shapes — <c>[time, map]</c> or
    /// <c>[[time, map|nil], map]</c> with time a uint32 integer or EventTime (fixext 8, type 0) — when it is
    /// well-formed msgpack within the payload and nested well under <paramref name="maxDepth"/>. False means
    /// "not sure", never "invalid": the caller then decides with the exact (scanner + reader) path.
    /// </summary>
    private static bool TrySkipCommonEvent(ReadOnlySpan<byte> s, ref int position, int maxDepth)
    {
        // Values inside an event sit at most 3 containers deep (event, [time, meta], value); staying one level
        // short of the exact path's limit keeps this path strictly more conservative.
        var valueDepth = maxDepth - 4;
        if (valueDepth < 1)
        {
            return false;
        }

        var p = position;
        if ((uint)(p + 1) >= (uint)s.Length || s[p] != 0x92)
        {
            return false;
        }

        p++;
        var header = s[p];
        if (header is 0x91 or 0x92)
        {
            p++;
            if (!TrySkipCommonTime(s, ref p) || p >= s.Length)
            {
                return false;
            }

            if (header == 0x92)
            {
                var meta = s[p];
                if (meta != 0xc0 && !IsMapHeader(meta))
                {
                    return false;
                }

                if (!TrySkipValue(s, ref p, valueDepth))
                {
                    return false;
                }
            }
        }
        else if (!TrySkipCommonTime(s, ref p))
        {
            return false;
        }

        if (p >= s.Length || !IsMapHeader(s[p]) || !TrySkipValue(s, ref p, valueDepth))
        {
            return false;
        }

        position = p;
        return true;
    }

    private static bool IsMapHeader(byte b) => b is (>= 0x80 and <= 0x8f) or 0xde or 0xdf;

    /// <summary>A time the exact path accepts for sure: positive fixint, uint8/16/32, or EventTime as fixext 8 type 0.</summary>
    private static bool TrySkipCommonTime(ReadOnlySpan<byte> s, ref int p)
    {
        if (p >= s.Length)
        {
            return false;
        }

        var length = s[p] switch
        {
            <= 0x7f => 1,
            0xcc => 2,
            0xcd => 3,
            0xce => 5,
            0xd7 when p + 1 < s.Length && s[p + 1] == 0 => 10,
            _ => 0,
        };
        if (length == 0 || length > s.Length - p)
        {
            return false;
        }

        p += length;
        return true;
    }

    /// <summary>
    /// Skips one msgpack value without recursion; false when it is cut short, uses the never-valid byte 0xc1,
    /// or nests deeper than <paramref name="maxDepth"/> containers.
    /// </summary>
    private static bool TrySkipValue(ReadOnlySpan<byte> s, ref int position, int maxDepth)
    {
        Span<long> outer = stackalloc long[Math.Min(maxDepth, 128)];
        var depth = 0;
        long left = 1;
        var p = position;
        while (true)
        {
            if (left == 0)
            {
                if (depth == 0)
                {
                    position = p;
                    return true;
                }

                left = outer[--depth];
                continue;
            }

            if (p >= s.Length)
            {
                return false;
            }

            left--;
            var b = s[p];
            long children = 0;
            long payload = 0;
            var headerLength = 1;
            if (b <= 0x7f || b >= 0xe0 || b is 0xc0 or 0xc2 or 0xc3)
            {
            }
            else if (b <= 0x8f)
            {
                children = 2 * (b & 0x0f);
            }
            else if (b <= 0x9f)
            {
                children = b & 0x0f;
            }
            else if (b <= 0xbf)
            {
                payload = b & 0x1f;
            }
            else
            {
                var rest = s[(p + 1)..];
                switch (b)
                {
                    case 0xc4 or 0xd9 when rest.Length >= 1: headerLength = 2; payload = rest[0]; break;
                    case 0xc5 or 0xda when rest.Length >= 2: headerLength = 3; payload = BinaryPrimitives.ReadUInt16BigEndian(rest); break;
                    case 0xc6 or 0xdb when rest.Length >= 4: headerLength = 5; payload = BinaryPrimitives.ReadUInt32BigEndian(rest); break;
                    case 0xc7 when rest.Length >= 2: headerLength = 3; payload = rest[0]; break;
                    case 0xc8 when rest.Length >= 3: headerLength = 4; payload = BinaryPrimitives.ReadUInt16BigEndian(rest); break;
                    case 0xc9 when rest.Length >= 5: headerLength = 6; payload = BinaryPrimitives.ReadUInt32BigEndian(rest); break;
                    case 0xca: payload = 4; break;
                    case 0xcb: payload = 8; break;
                    case 0xcc or 0xd0: payload = 1; break;
                    case 0xcd or 0xd1: payload = 2; break;
                    case 0xce or 0xd2: payload = 4; break;
                    case 0xcf or 0xd3: payload = 8; break;
                    case 0xd4: payload = 2; break;
                    case 0xd5: payload = 3; break;
                    case 0xd6: payload = 5; break;
                    case 0xd7: payload = 9; break;
                    case 0xd8: payload = 17; break;
                    case 0xdc when rest.Length >= 2: headerLength = 3; children = BinaryPrimitives.ReadUInt16BigEndian(rest); break;
                    case 0xdd when rest.Length >= 4: headerLength = 5; children = BinaryPrimitives.ReadUInt32BigEndian(rest); break;
                    case 0xde when rest.Length >= 2: headerLength = 3; children = 2L * BinaryPrimitives.ReadUInt16BigEndian(rest); break;
                    case 0xdf when rest.Length >= 4: headerLength = 5; children = 2L * BinaryPrimitives.ReadUInt32BigEndian(rest); break;
                    default: return false; // 0xc1, or a header cut short
                }
            }

            p += headerLength;
            if (children > 0)
            {
                // Every child takes at least a byte: a count that cannot fit is left to the exact path.
                if (depth >= outer.Length || children > s.Length - p)
                {
                    return false;
                }

                outer[depth++] = left;
                left = children;
            }
            else
            {
                if (payload > s.Length - p)
                {
                    return false;
                }

                p += (int)payload;
            }
        }
    }

    public static string Describe(MessagePackType type) => type switch
    {
        MessagePackType.Integer => "an integer",
        MessagePackType.Nil => "nil",
        MessagePackType.Boolean => "a boolean",
        MessagePackType.Float => "a float",
        MessagePackType.String => "a string",
        MessagePackType.Binary => "binary",
        MessagePackType.Array => "an array",
        MessagePackType.Map => "a map",
        MessagePackType.Extension => "an extension",
        _ => "an unknown type",
    };
}
