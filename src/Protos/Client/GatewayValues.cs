using System.Collections;
using System.Globalization;
using Gateway.Protos.V1;
using Google.Protobuf;

namespace Gateway.Protos.Client;

/// <summary>Builds <c>gateway.v1</c> events and typed values from ordinary .NET values.</summary>
public static class GatewayValues
{
    /// <summary>
    /// A typed <see cref="Value"/>: strings, booleans, integers (unsigned above long.MaxValue), floating point,
    /// byte arrays, dictionaries with string keys (maps), other enumerables (lists), DateTime/DateTimeOffset
    /// (ISO 8601 strings), null (nil); anything else is its invariant-culture string.
    /// </summary>
    public static Value From(object? value) => From(value, 0);

    /// <summary>One event with <paramref name="fields"/> as its body; <paramref name="tag"/> null = the client's default tag.</summary>
    public static Event CreateEvent(string? tag, DateTimeOffset time, IEnumerable<KeyValuePair<string, object?>> fields)
    {
        ArgumentNullException.ThrowIfNull(fields);
        var e = new Event
        {
            Tag = tag ?? string.Empty,
            TimeUnixNano = ToUnixNanoseconds(time),
        };
        foreach (var field in fields)
        {
            e.Body[field.Key] = From(field.Value);
        }

        return e;
    }

    /// <summary>Nanoseconds since the Unix epoch, as <c>time_unix_nano</c> carries them (100 ns resolution from .NET).</summary>
    public static ulong ToUnixNanoseconds(DateTimeOffset time) =>
        (ulong)(time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100UL;

    private static Value From(object? value, int depth)
    {
        // Self-referencing object graphs would otherwise recurse forever; the aggregator refuses deeper bodies anyway.
        if (depth > 32)
        {
            throw new ArgumentException("value nests deeper than 32 levels", nameof(value));
        }

        switch (value)
        {
            case null:
                return new Value();
            case Value v:
                return v;
            case string s:
                return new Value { StringValue = s };
            case bool b:
                return new Value { BoolValue = b };
            case int or long or short or sbyte or byte or ushort or uint:
                return new Value { IntValue = Convert.ToInt64(value, CultureInfo.InvariantCulture) };
            case ulong u:
                return u <= long.MaxValue ? new Value { IntValue = (long)u } : new Value { UintValue = u };
            case double d:
                return new Value { DoubleValue = d };
            case float f:
                return new Value { DoubleValue = f };
            case decimal m:
                return new Value { DoubleValue = (double)m };
            case byte[] bytes:
                return new Value { BytesValue = ByteString.CopyFrom(bytes) };
            case DateTimeOffset time:
                return new Value { StringValue = time.ToString("O", CultureInfo.InvariantCulture) };
            case DateTime time:
                return new Value { StringValue = time.ToString("O", CultureInfo.InvariantCulture) };
            case IEnumerable<KeyValuePair<string, object?>> pairs:
                var map = new ValueMap();
                foreach (var pair in pairs)
                {
                    map.Fields[pair.Key] = From(pair.Value, depth + 1);
                }

                return new Value { MapValue = map };
            case IDictionary dictionary:
                var fields = new ValueMap();
                foreach (DictionaryEntry entry in dictionary)
                {
                    fields.Fields[Convert.ToString(entry.Key, CultureInfo.InvariantCulture) ?? string.Empty] = From(entry.Value, depth + 1);
                }

                return new Value { MapValue = fields };
            case IEnumerable items:
                var list = new ValueList();
                foreach (var item in items)
                {
                    list.Values.Add(From(item, depth + 1));
                }

                return new Value { ListValue = list };
            default:
                return new Value { StringValue = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty };
        }
    }
}
