using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Shipper.Tests.Fakes;

/// <summary>A decoded event for assertions: time, and the record's keys in order with their values as text.</summary>
internal sealed record DecodedRecord(EventTime Time, IReadOnlyList<KeyValuePair<string, object?>> Fields)
{
    public object? this[string key]
    {
        get
        {
            foreach (var field in Fields)
            {
                if (field.Key == key)
                {
                    return field.Value;
                }
            }

            return null;
        }
    }

    public bool Has(string key)
    {
        foreach (var field in Fields)
        {
            if (field.Key == key)
            {
                return true;
            }
        }

        return false;
    }
}

internal static class MsgpackRecords
{
    public static List<DecodedRecord> Decode(ReadOnlyMemory<byte> events)
    {
        var result = new List<DecodedRecord>();
        var reader = new EventReader(events);
        while (reader.TryRead(out var view))
        {
            var record = new MessagePackReader(view.Record);
            result.Add(new DecodedRecord(view.Time, ReadMap(ref record)));
        }

        if (!reader.End)
        {
            throw new InvalidOperationException("trailing bytes after the last event");
        }

        return result;
    }

    private static List<KeyValuePair<string, object?>> ReadMap(ref MessagePackReader reader)
    {
        var count = reader.ReadMapHeader();
        var fields = new List<KeyValuePair<string, object?>>(count);
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString()!;
            fields.Add(new(key, ReadValue(ref reader)));
        }

        return fields;
    }

    private static object? ReadValue(ref MessagePackReader reader)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.String:
                var bytes = reader.ReadStringSequence()!.Value;
                return System.Text.Encoding.UTF8.GetString(System.Buffers.BuffersExtensions.ToArray(bytes));
            case MessagePackType.Nil:
                reader.ReadNil();
                return null;
            case MessagePackType.Array:
                var n = reader.ReadArrayHeader();
                var list = new List<object?>(n);
                for (var i = 0; i < n; i++)
                {
                    list.Add(ReadValue(ref reader));
                }

                return list;
            case MessagePackType.Map:
                return ReadMap(ref reader);
            case MessagePackType.Integer:
                return reader.ReadInt64();
            case MessagePackType.Boolean:
                return reader.ReadBoolean();
            case MessagePackType.Float:
                return reader.ReadDouble();
            default:
                reader.Skip();
                return "<other>";
        }
    }
}
