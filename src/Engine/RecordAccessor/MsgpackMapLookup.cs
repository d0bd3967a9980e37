using Gateway.Engine.Json;

namespace Gateway.Engine.RecordAccessor;

/// <summary>Key search in a msgpack map by UTF-8 bytes, without decoding anything but headers.</summary>
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
        var cursor = new MsgpackCursor(buffer, mapStart);
        var header = cursor.Read();
        if (header.Kind != MsgpackKind.Map)
        {
            return false;
        }

        for (var i = 0; i < header.Length; i++)
        {
            var keyStart = cursor.Position;
            var token = cursor.Read();
            if (token.Kind == MsgpackKind.String)
            {
                if (token.Length == key.Length && cursor.Payload(token).SequenceEqual(key))
                {
                    valueStart = cursor.Position;
                }
            }
            else if (token.Kind is MsgpackKind.Map or MsgpackKind.Array)
            {
                cursor = new MsgpackCursor(buffer, keyStart);
                cursor.Skip();
            }

            cursor.Skip();
        }

        return valueStart >= 0;
    }
}
