using Gateway.Protos.V1;
using Google.Protobuf;
using Google.Protobuf.Collections;
using MessagePack;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>A structured body the aggregator cannot store (nested too deep); the message names where.</summary>
internal sealed class EventBodyException(string message) : Exception(message);

/// <summary>
/// Encodes a <c>gateway.v1</c> structured body (<see cref="Value"/> tree) straight into the msgpack record map the
/// pipeline stores: strings as str, ints as int, doubles as float64, bytes as bin, maps and lists nested, an unset
/// value as nil. No intermediate object model, so an event costs the protobuf parse plus one pass here.
/// </summary>
internal static class EventBodyWriter
{
    /// <summary>
    /// Nesting limit: deeper bodies are refused so a hostile message cannot blow the stack. Below protobuf's own
    /// recursion limit (100 messages; a nested map costs 3: Value, ValueMap, map entry), so a too-deep body gets
    /// this clear InvalidArgument rather than a parse failure.
    /// </summary>
    public const int MaxDepth = 16;

    public static void WriteBody(ref MessagePackWriter writer, MapField<string, Value> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        WriteMap(ref writer, body, 1);
    }

    private static void WriteMap(ref MessagePackWriter writer, MapField<string, Value> map, int depth)
    {
        writer.WriteMapHeader(map.Count);
        foreach (var field in map)
        {
            writer.Write(field.Key);
            WriteValue(ref writer, field.Value, field.Key, depth);
        }
    }

    private static void WriteValue(ref MessagePackWriter writer, Value? value, string key, int depth)
    {
        if (value is null)
        {
            writer.WriteNil();
            return;
        }

        switch (value.KindCase)
        {
            case Value.KindOneofCase.StringValue:
                writer.Write(value.StringValue);
                break;
            case Value.KindOneofCase.IntValue:
                writer.Write(value.IntValue);
                break;
            case Value.KindOneofCase.UintValue:
                writer.Write(value.UintValue);
                break;
            case Value.KindOneofCase.DoubleValue:
                writer.Write(value.DoubleValue);
                break;
            case Value.KindOneofCase.BoolValue:
                writer.Write(value.BoolValue);
                break;
            case Value.KindOneofCase.BytesValue:
                WriteBytes(ref writer, value.BytesValue);
                break;
            case Value.KindOneofCase.MapValue:
                CheckDepth(key, depth);
                WriteMap(ref writer, value.MapValue.Fields, depth + 1);
                break;
            case Value.KindOneofCase.ListValue:
                CheckDepth(key, depth);
                var values = value.ListValue.Values;
                writer.WriteArrayHeader(values.Count);
                for (var i = 0; i < values.Count; i++)
                {
                    WriteValue(ref writer, values[i], key, depth + 1);
                }

                break;
            default:
                writer.WriteNil();
                break;
        }
    }

    private static void WriteBytes(ref MessagePackWriter writer, ByteString bytes) => writer.Write(bytes.Span);

    private static void CheckDepth(string key, int depth)
    {
        if (depth >= MaxDepth)
        {
            throw new EventBodyException($"body field '{key}' nests deeper than {MaxDepth} levels");
        }
    }
}
