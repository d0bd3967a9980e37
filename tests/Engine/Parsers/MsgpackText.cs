using System.Globalization;
using System.Text;
using System.Text.Json;
using MessagePack;

namespace Gateway.Engine.Tests.Parsers;

/// <summary>Renders msgpack as compact JSON-like text so tests can compare whole records, order included.</summary>
internal static class MsgpackText
{
    public static string ToText(ReadOnlyMemory<byte> msgpack)
    {
        var reader = new MessagePackReader(msgpack);
        var builder = new StringBuilder();
        Write(ref reader, builder);
        if (!reader.End)
        {
            throw new InvalidOperationException($"{msgpack.Length - reader.Consumed} bytes left after one value");
        }

        return builder.ToString();
    }

    private static void Write(ref MessagePackReader reader, StringBuilder builder)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                var pairs = reader.ReadMapHeader();
                builder.Append('{');
                for (var i = 0; i < pairs; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(',');
                    }

                    Write(ref reader, builder);
                    builder.Append(':');
                    Write(ref reader, builder);
                }

                builder.Append('}');
                break;
            case MessagePackType.Array:
                var items = reader.ReadArrayHeader();
                builder.Append('[');
                for (var i = 0; i < items; i++)
                {
                    if (i > 0)
                    {
                        builder.Append(',');
                    }

                    Write(ref reader, builder);
                }

                builder.Append(']');
                break;
            case MessagePackType.String:
                builder.Append(JsonSerializer.Serialize(reader.ReadString()));
                break;
            case MessagePackType.Integer when reader.NextCode == MessagePackCode.UInt64:
                builder.Append(reader.ReadUInt64().ToString(CultureInfo.InvariantCulture));
                break;
            case MessagePackType.Integer:
                builder.Append(reader.ReadInt64().ToString(CultureInfo.InvariantCulture));
                break;
            case MessagePackType.Float:
                builder.Append(reader.ReadDouble().ToString("R", CultureInfo.InvariantCulture));
                break;
            case MessagePackType.Boolean:
                builder.Append(reader.ReadBoolean() ? "true" : "false");
                break;
            case MessagePackType.Nil:
                reader.ReadNil();
                builder.Append("null");
                break;
            default:
                reader.Skip();
                builder.Append("?");
                break;
        }
    }
}
