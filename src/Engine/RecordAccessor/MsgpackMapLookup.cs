using System.Buffers.Binary;
using Gateway.Engine.Json;

namespace Gateway.Engine.RecordAccessor;

/// <summary>Key search in a msgpack map by UTF-8 bytes, reading only headers.</summary>
internal static class MsgpackMapLookup
{
    /// <summary>
    /// Finds the value of the LAST string key equal to <paramref name="key"/> in the map starting at
    /// <paramref name="mapStart"/>, as Fluent Bit's ra_key_val_id searches from the end.
    /// </summary>
    /// <exception cref="MsgpackFormatException">The bytes are not valid msgpack.</exception>
    public static bool TryFindLast(ReadOnlySpan<byte> buffer, int mapStart, ReadOnlySpan<byte> key, out int valueStart)
    {
        valueStart = -1;
        if ((uint)mapStart >= (uint)buffer.Length)
        {
            throw new MsgpackFormatException("unexpected end of msgpack data", mapStart);
        }

        int count;
        var position = mapStart;
        var header = buffer[position];
        if (header is >= 0x80 and <= 0x8f)
        {
            count = header & 0x0f;
            position++;
        }
        else if (header == 0xde && buffer.Length - position > 2)
        {
            count = BinaryPrimitives.ReadUInt16BigEndian(buffer[(position + 1)..]);
            position += 3;
        }
        else if (header == 0xdf && buffer.Length - position > 4)
        {
            count = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(buffer[(position + 1)..]), int.MaxValue);
            position += 5;
        }
        else if (header is 0xde or 0xdf)
        {
            throw new MsgpackFormatException("truncated msgpack map", mapStart);
        }
        else
        {
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            // Only string keys can match; read their header here and step over anything else.
            var keyByte = position < buffer.Length ? buffer[position] : throw new MsgpackFormatException("truncated msgpack map", mapStart);
            int payload;
            int length;
            if (keyByte is >= 0xa0 and <= 0xbf)
            {
                payload = position + 1;
                length = keyByte & 0x1f;
            }
            else if (keyByte == 0xd9 && position + 1 < buffer.Length)
            {
                payload = position + 2;
                length = buffer[position + 1];
            }
            else if (keyByte == 0xda && position + 2 < buffer.Length)
            {
                payload = position + 3;
                length = BinaryPrimitives.ReadUInt16BigEndian(buffer[(position + 1)..]);
            }
            else if (keyByte == 0xdb && position + 4 < buffer.Length)
            {
                payload = position + 5;
                length = (int)Math.Min(BinaryPrimitives.ReadUInt32BigEndian(buffer[(position + 1)..]), int.MaxValue);
            }
            else
            {
                payload = -1;
                length = -1;
            }

            var keyEnd = MsgpackWalker.Skip(buffer, position);
            if (length == key.Length && buffer.Slice(payload, length).SequenceEqual(key))
            {
                valueStart = keyEnd;
            }

            position = MsgpackWalker.Skip(buffer, keyEnd);
        }

        return valueStart >= 0;
    }
}
