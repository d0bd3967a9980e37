using System.Buffers;
using Gateway.Engine.Records;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters;

/// <summary>Corrupt chunk bytes give a clear EventFormatException (the engine then passes the chunk on unfiltered).</summary>
public sealed class MalformedChunkTests
{
    [Fact]
    public void Truncated_or_garbled_events_fail_with_an_event_format_error_naming_the_offset()
    {
        var filters = new[]
        {
            Filter(("Name", "grep"), ("Regex", "$a['b'] x")),
            Filter(("Name", "nest"), ("Operation", "lift"), ("Nested_under", "a")),
            Filter(("Name", "record_modifier"), ("Remove_key", "a")),
            Filter(("Name", "modify"), ("Set", "a b")),
        };
        var good = Chunk("{\"a\":{\"b\":\"x\"},\"c\":\"" + new string('z', 40) + "\"}", "{\"a\":{\"b\":\"y\"}}").Events.ToArray();
        var random = new Random(7);
        for (var round = 0; round < 2000; round++)
        {
            var bytes = (byte[])good.Clone();
            if (round % 2 == 0)
            {
                bytes = bytes[..random.Next(1, bytes.Length)];
            }
            else
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            var chunk = new EventChunk("t", bytes, 2);
            foreach (var filter in filters)
            {
                try
                {
                    filter.Filter(chunk, new ArrayBufferWriter<byte>(), out _);
                }
                catch (EventFormatException ex)
                {
                    Assert.Contains("offset", ex.Message, StringComparison.Ordinal);
                }
            }
        }
    }
}
