using System.Buffers;
using System.Text;
using System.Text.Json;
using Gateway.Engine.Json;
using MessagePack;

namespace Gateway.Tests.Shared;

/// <summary>
/// Test records written as JSON and packed like Fluent Bit's flb_pack_json: key order and repeated keys kept,
/// whole numbers as integers, others as doubles. Linked into the Engine and Aggregator test projects (see their
/// csproj) so both check records against the same packing.
/// </summary>
internal static class JsonMsgpack
{
    public static byte[] FromJson(string json)
    {
        using var document = JsonDocument.Parse(json);
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        Write(ref writer, document.RootElement);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    public static string ToJson(ReadOnlySpan<byte> msgpack)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FluentJson.WriteValue(msgpack, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void Write(ref MessagePackWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                var count = 0;
                foreach (var _ in element.EnumerateObject())
                {
                    count++;
                }

                writer.WriteMapHeader(count);
                foreach (var property in element.EnumerateObject())
                {
                    writer.Write(property.Name);
                    Write(ref writer, property.Value);
                }

                break;
            case JsonValueKind.Array:
                writer.WriteArrayHeader(element.GetArrayLength());
                foreach (var item in element.EnumerateArray())
                {
                    Write(ref writer, item);
                }

                break;
            case JsonValueKind.String:
                writer.Write(element.GetString());
                break;
            case JsonValueKind.Number:
                if (element.TryGetInt64(out var l))
                {
                    writer.Write(l);
                }
                else
                {
                    writer.Write(element.GetDouble());
                }

                break;
            case JsonValueKind.True:
                writer.Write(true);
                break;
            case JsonValueKind.False:
                writer.Write(false);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }
}
