using System.Buffers;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Engine.Tests.Records;

/// <summary>
/// The reader's shortcut for <c>[EventTime, {record}]</c> and its general path must agree on every event, and a
/// broken event of the common shape still gets the general path's message.
/// </summary>
public sealed class EventReaderTests
{
    [Fact]
    public void Events_of_every_time_and_header_layout_read_with_their_time_metadata_and_record_bytes()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        var record = Record("a", "1");

        // [EventTime, {a:1}] (the common shape), [uint, {a:1}], [float, {a:1}], [[EventTime, {m:x}], {a:1}]
        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, new EventTime(1_700_000_000, 5));
        writer.WriteRaw(record);
        writer.WriteArrayHeader(2);
        writer.Write(1_700_000_001u);
        writer.WriteRaw(record);
        writer.WriteArrayHeader(2);
        writer.Write(1_700_000_002.5);
        writer.WriteRaw(record);
        writer.WriteArrayHeader(2);
        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, new EventTime(1_700_000_003, 7));
        writer.WriteRaw(Record("m", "x"));
        writer.WriteRaw(record);
        writer.Flush();

        var reader = new EventReader(buffer.WrittenMemory);
        var views = new List<EventView>();
        while (reader.TryRead(out var view))
        {
            views.Add(view);
        }

        Assert.Equal(4, views.Count);
        Assert.Equal(new EventTime(1_700_000_000, 5), views[0].Time);
        Assert.Equal(new EventTime(1_700_000_001, 0), views[1].Time);
        Assert.Equal(new EventTime(1_700_000_002, 500_000_000), views[2].Time);
        Assert.Equal(new EventTime(1_700_000_003, 7), views[3].Time);
        Assert.All(views, v => Assert.Equal(record, v.Record.ToArray()));
        Assert.True(views[0].Metadata.IsEmpty);
        Assert.Equal(Record("m", "x"), views[3].Metadata.ToArray());
        Assert.Equal(buffer.WrittenCount, views.Sum(v => v.Raw.Length));
        Assert.Equal(buffer.WrittenCount, reader.Offset);
    }

    [Fact]
    public void A_common_shape_event_cut_short_is_reported_as_truncated_at_its_offset()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, new EventTime(1_700_000_000, 0));
        writer.WriteRaw(Record("a", "1"));
        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, new EventTime(1_700_000_000, 0));
        writer.WriteRaw(Record("key", "a longer value"));
        writer.Flush();
        var firstLength = 11 + Record("a", "1").Length;
        var cut = buffer.WrittenMemory[..^4];

        var reader = new EventReader(cut);
        Assert.True(reader.TryRead(out _));
        EventReader second = reader;
        var ex = Assert.Throws<EventFormatException>(() => second.TryRead(out _));

        Assert.Equal($"event at offset {firstLength} is truncated", ex.Message);
    }

    private static byte[] Record(string key, string value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(1);
        writer.Write(key);
        writer.Write(value);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
