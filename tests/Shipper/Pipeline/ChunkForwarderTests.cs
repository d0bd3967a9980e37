using System.Buffers;
using Gateway.Engine.Forward;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Pipeline;
using Gateway.Shipper.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Shipper.Tests.Pipeline;

public sealed class ChunkForwarderTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Chunk_is_acknowledged_to_its_input_only_after_the_aggregator_acknowledged_it()
    {
        var answer = new TaskCompletionSource<ForwardSendResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sent = new TaskCompletionSource<EventChunk>(TaskCreationOptions.RunContinuationsAsynchronously);
        var forwarder = new ChunkForwarder(
            (chunk, _) =>
            {
                sent.TrySetResult(chunk);
                return answer.Task;
            },
            new NodeFilterChain([], NullLogger.Instance),
            NullLogger.Instance,
            senders: 1);
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);
        var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("app.x", "node-1"), acknowledged.SetResult), CancellationToken.None);
        var onTheWire = await sent.Task.WaitAsync(Wait);

        Assert.Equal("node-1", onTheWire.NodeName);
        Assert.Equal("app.x", onTheWire.Tag);
        Assert.False(acknowledged.Task.IsCompleted);
        answer.SetResult(ForwardSendResult.Delivered);
        await acknowledged.Task.WaitAsync(Wait);
        Assert.Equal(1, forwarder.Metrics.Acknowledged);
        Assert.Equal(2, forwarder.Metrics.RecordsAcknowledged);

        await stop.CancelAsync();
        await running.WaitAsync(Wait);
    }

    [Fact]
    public async Task Refused_chunk_is_sent_again_after_the_backoff_and_never_acknowledged_before()
    {
        var time = new TimerCountingTimeProvider();
        var attempts = 0;
        var secondAttempt = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var forwarder = new ChunkForwarder(
            (_, _) =>
            {
                if (Interlocked.Increment(ref attempts) == 1)
                {
                    return Task.FromResult(ForwardSendResult.Retry("aggregator down"));
                }

                secondAttempt.TrySetResult();
                return Task.FromResult(ForwardSendResult.Delivered);
            },
            new NodeFilterChain([], NullLogger.Instance),
            NullLogger.Instance,
            senders: 1,
            backoff: new SinkRetryBackoff(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30)),
            time: time);
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);
        var acknowledged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("app.x", null), acknowledged.SetResult), CancellationToken.None);
        await WaitUntilAsync(() => forwarder.Metrics.ResendCount == 1);

        // The resend is counted just before the backoff's timer exists: advance the clock only once it does.
        await time.WaitForTimersAsync(1);
        time.Advance(TimeSpan.FromSeconds(1.9));
        Assert.Equal(1, Volatile.Read(ref attempts));
        Assert.False(acknowledged.Task.IsCompleted);

        time.Advance(TimeSpan.FromSeconds(0.1));
        await secondAttempt.Task.WaitAsync(Wait);
        await acknowledged.Task.WaitAsync(Wait);

        await stop.CancelAsync();
        await running.WaitAsync(Wait);
    }

    [Fact]
    public async Task Node_filter_applies_only_to_the_tags_it_matches()
    {
        var seen = new List<EventChunk>();
        var forwarder = new ChunkForwarder(
            (chunk, _) =>
            {
                lock (seen)
                {
                    seen.Add(chunk);
                }

                return Task.FromResult(ForwardSendResult.Delivered);
            },
            new NodeFilterChain([(new TagMatcher("host.*", null), new DropAllFilter())], NullLogger.Instance),
            NullLogger.Instance,
            senders: 1);
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);

        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("host.messages", null), () => { }), CancellationToken.None);
        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("application.x", null), () => { }), CancellationToken.None);
        await WaitUntilAsync(() => forwarder.Metrics.Acknowledged == 2);

        Assert.Equal([("host.messages", 0), ("application.x", 2)], seen.Select(c => (c.Tag, c.EventCount)));
        await stop.CancelAsync();
        await running.WaitAsync(Wait);
    }

    private static EventChunk Chunk(string tag, string? node)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePack.MessagePackWriter(buffer);
        for (var i = 0; i < 2; i++)
        {
            writer.WriteArrayHeader(2);
            EventWriter.WriteTime(ref writer, new EventTime((uint)(1_700_000_000 + i), 0));
            writer.WriteMapHeader(1);
            writer.Write("log");
            writer.Write($"line {i}");
        }

        writer.Flush();
        return new EventChunk(tag, buffer.WrittenMemory, 2, node);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Wait, "condition not met in time");
            await Task.Delay(10);
        }
    }

    private sealed class DropAllFilter : IFilter
    {
        public string Name => "drop.0";

        public FilterOutcome Filter(EventChunk chunk, IBufferWriter<byte> output, out int outputEventCount)
        {
            outputEventCount = 0;
            return FilterOutcome.Modified;
        }
    }
}
