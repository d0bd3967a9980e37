using System.Text;
using System.Text.Json;
using Gateway.Aggregator.Outputs.CloudWatch;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

/// <summary>
/// The request body is never built: the <c>logEvents</c> array is streamed from the messages the plans hold
/// (stored escaped, across 16 KiB pages). What CloudWatch receives must be exactly the JSON it expects, with the
/// length announced up front, and the same bytes again when the client rewinds it to sign, send or resend.
/// </summary>
public sealed class CloudWatchLogEventsStreamTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    [InlineData(65536)]
    public void Streams_the_events_as_the_json_array_cloudwatch_expects_whatever_the_read_size(int readSize)
    {
        var pool = new CloudWatchPagePool(64);
        var (events, expected) = Request(pool, count: 300);

        var stream = new CloudWatchLogEventsStream();
        stream.Reset(events, events.Length);
        var first = ReadAll(stream, readSize);
        stream.Position = 0;
        var second = ReadAll(stream, readSize);

        Assert.Equal(stream.Length, first.Length);
        Assert.Equal(first, second);
        using var doc = JsonDocument.Parse(first);
        var parsed = doc.RootElement.EnumerateArray().Select(e => (e.GetProperty("timestamp").GetInt64(), e.GetProperty("message").GetString()!)).ToList();
        Assert.Equal(expected, parsed);
        Assert.Equal(2, doc.RootElement[0].EnumerateObject().Count()); // timestamp and message only
    }

    [Fact]
    public void An_empty_request_is_an_empty_array_and_only_a_rewind_to_the_start_is_allowed()
    {
        var stream = new CloudWatchLogEventsStream();
        stream.Reset([], 0);
        Assert.Equal("[]", Encoding.ASCII.GetString(ReadAll(stream, 16)));
        Assert.Throws<NotSupportedException>(() => stream.Position = 1);
        Assert.Throws<NotSupportedException>(() => stream.Seek(0, SeekOrigin.End));
    }

    private static (CloudWatchQueuedEvent[] Events, List<(long, string)> Expected) Request(CloudWatchPagePool pool, int count)
    {
        // Messages of varied sizes (some larger than a page) with quotes and backslashes to escape.
        var plan = new CloudWatchFlushPlan(count, pool);
        var expected = new List<(long, string)>();
        var random = new Random(5);
        for (var i = 0; i < count; i++)
        {
            var size = i % 50 == 0 ? 20_000 : random.Next(1, 900);
            var message = $"{{\"log\":\"line {i} \\\"quoted\\\" c:\\\\dir\",\"pad\":\"{new string((char)('a' + (i % 26)), size)}\"}}";
            var bytes = Encoding.ASCII.GetBytes(message);
            var offset = plan.Messages.WrittenCount;
            plan.Messages.WriteEscapedAsciiJson(bytes);
            plan.Add(new CloudWatchPlannedEvent(0, 1_700_000_000_000 + i, offset, plan.Messages.WrittenCount - offset, bytes.Length, i));
            expected.Add((1_700_000_000_000 + i, message));
        }

        var chunk = new CloudWatchPendingChunk(plan, new bool[count], 0);
        var events = new CloudWatchQueuedEvent[count];
        for (var i = 0; i < count; i++)
        {
            var p = plan.Events[i];
            events[i] = new CloudWatchQueuedEvent(chunk, p.TimestampMs, p.Offset, p.Length, p.MessageBytes, p.Sequence, i);
        }

        return (events, expected);
    }

    private static byte[] ReadAll(Stream stream, int readSize)
    {
        var output = new MemoryStream();
        var buffer = new byte[readSize];
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }
}
