using System.Buffers;
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
        var scanner = new MessagePackFrameScanner(Math.Max(1, events.Length), maxDepth);
        var offset = 0;
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
