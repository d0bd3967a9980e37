using System.Buffers;
using Gateway.Aggregator.Filters;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Tests.Shared;
using MessagePack;

namespace Gateway.Aggregator.Tests.Filters;

/// <summary>Builds [FILTER] sections and chunks, runs filters, and checks records byte for byte.</summary>
internal static class FilterHarness
{
    public static readonly EventTime Time = new(1577521193, 704000000);

    public static ConfigSection Section(params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry>();
        var line = 2;
        foreach (var (key, value) in entries)
        {
            list.Add(new ConfigEntry(key, value, new ConfigLocation("filters.conf", line++)));
        }

        return new ConfigSection(SectionKind.Filter, "FILTER", new ConfigLocation("filters.conf", 1), list);
    }

    public static IFilter Filter(params (string Key, string Value)[] entries) => FilterFactory.Create(Section(entries));

    public static EventChunk Chunk(params string[] jsonRecords) => TaggedChunk("app.var.log.containers.x", jsonRecords);

    public static EventChunk TaggedChunk(string tag, params string[] jsonRecords)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        foreach (var json in jsonRecords)
        {
            EventWriter.WriteEvent(ref writer, Time, JsonMsgpack.FromJson(json));
        }

        writer.Flush();
        return new EventChunk(tag, buffer.WrittenMemory.ToArray(), jsonRecords.Length);
    }

    /// <summary>Runs the filters in order as the engine's FilterChain does; returns the resulting chunk.</summary>
    public static EventChunk Run(EventChunk chunk, params IFilter[] filters)
    {
        foreach (var filter in filters)
        {
            var output = new ArrayBufferWriter<byte>();
            var outcome = filter.Filter(chunk, output, out var count);
            if (outcome == FilterOutcome.Modified)
            {
                chunk = chunk.WithEvents(output.WrittenMemory.ToArray(), count);
                Assert.Equal(count, EventReader.CountAndValidate(chunk.Events));
            }
            else
            {
                Assert.Equal(0, output.WrittenCount);
            }
        }

        return chunk;
    }

    public static List<string> RecordsAsJson(EventChunk chunk)
    {
        var list = new List<string>();
        var reader = new EventReader(chunk.Events);
        while (reader.TryRead(out var view))
        {
            list.Add(JsonMsgpack.ToJson(view.Record.Span));
        }

        return list;
    }

    /// <summary>
    /// Asserts the records equal the expected ones as msgpack bytes (key order and repeated keys included), and that
    /// every event kept its time.
    /// </summary>
    public static void AssertRecords(EventChunk chunk, params string[] expectedJson)
    {
        var reader = new EventReader(chunk.Events);
        var i = 0;
        while (reader.TryRead(out var view))
        {
            Assert.True(i < expectedJson.Length, $"unexpected extra record {JsonMsgpack.ToJson(view.Record.Span)}");
            var expected = JsonMsgpack.FromJson(expectedJson[i]);
            if (!view.Record.Span.SequenceEqual(expected))
            {
                Assert.Fail($"record {i}:\nexpected {expectedJson[i]}\nactual   {JsonMsgpack.ToJson(view.Record.Span)}\n" +
                            $"expected bytes {Convert.ToHexString(expected)}\nactual bytes   {Convert.ToHexString(view.Record.Span)}");
            }

            Assert.Equal(Time, view.Time);
            i++;
        }

        Assert.Equal(expectedJson.Length, i);
        Assert.Equal(expectedJson.Length, chunk.EventCount);
    }

    public static FilterOutcome Outcome(IFilter filter, EventChunk chunk) =>
        filter.Filter(chunk, new ArrayBufferWriter<byte>(), out _);
}
