using System.Buffers;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Engine.Records;
using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Outputs.Grpc;
using Gateway.Shipper.Pipeline;
using Gateway.Shipper.Tests.EndToEnd;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Tests.Grpc;

/// <summary>
/// The shipper's gRPC output against the real aggregator process (gateway_grpc input with filesystem storage →
/// file output): records arrive with their tags, and the aggregator's acks are what acknowledge chunks to their
/// inputs — also across an aggregator crash and restart.
/// </summary>
[Collection(ShipperEndToEndCollection.Name)]
public sealed class GrpcIngestClientTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly ShipperTestNode _node = new(copyFixtureLogs: false);

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task Chunks_reach_the_aggregator_and_are_acknowledged_to_their_input_after_its_acks()
    {
        var grpcPort = FreePort.Next();
        var httpPort = FreePort.Next();
        await using var aggregator = AggregatorProcess.Start(_node.AggregatorDir, AggregatorConfig(grpcPort, httpPort), httpPort);
        await aggregator.WaitReadyAsync();
        await using var client = new GrpcIngestClient(new GrpcOutputOptions { Host = "127.0.0.1", Port = grpcPort }, "node-x", NullLogger.Instance);
        var forwarder = new ChunkForwarder(client.SendAsync, new NodeFilterChain([], NullLogger.Instance), NullLogger.Instance, senders: 4);
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);

        var acknowledged = new CountdownEvent(3);
        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("app.a", "a1", "a2"), () => acknowledged.Signal()), CancellationToken.None);
        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("app.b", "b1"), () => acknowledged.Signal()), CancellationToken.None);
        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("app.a", "a3"), () => acknowledged.Signal()), CancellationToken.None);

        Assert.True(acknowledged.Wait(Wait), $"{acknowledged.CurrentCount} chunk(s) not acknowledged\n{aggregator.Log}");
        var records = await OutFileRecords.WaitForAsync(_node.OutDir, 4, TimeSpan.FromSeconds(60));
        Assert.Equal(new[] { "a1", "a2", "a3" }, records.Where(r => r.Tag == "app.a").Select(r => r.Record.GetProperty("log").GetString()!).Order().ToArray());
        Assert.Equal("b1", Assert.Single(records, r => r.Tag == "app.b").Record.GetProperty("log").GetString());
        Assert.Equal(3, forwarder.Metrics.Acknowledged);

        await stop.CancelAsync();
        await running;
    }

    [Fact]
    public async Task A_chunk_sent_while_the_aggregator_is_down_is_acknowledged_only_after_it_is_back()
    {
        var grpcPort = FreePort.Next();
        var httpPort = FreePort.Next();
        await using var aggregator = AggregatorProcess.Start(_node.AggregatorDir, AggregatorConfig(grpcPort, httpPort), httpPort);
        await aggregator.WaitReadyAsync();
        await using var client = new GrpcIngestClient(new GrpcOutputOptions { Host = "127.0.0.1", Port = grpcPort }, "node-x", NullLogger.Instance);
        var forwarder = new ChunkForwarder(
            client.SendAsync,
            new NodeFilterChain([], NullLogger.Instance),
            NullLogger.Instance,
            senders: 2,
            backoff: new SinkRetryBackoff(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1)));
        using var stop = new CancellationTokenSource();
        var running = forwarder.RunAsync(stop.Token);

        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("app.r", "before"), first.SetResult), CancellationToken.None);
        await first.Task.WaitAsync(Wait);

        await aggregator.KillAsync();
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await forwarder.EnqueueAsync(new OutboundChunk(Chunk("app.r", "during"), second.SetResult), CancellationToken.None);

        // Nothing stores it while the aggregator is down, so nothing may acknowledge it (the offset stays put).
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(second.Task.IsCompleted);

        aggregator.Restart();
        await aggregator.WaitReadyAsync();
        await second.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var records = await OutFileRecords.WaitForAsync(_node.OutDir, 2, TimeSpan.FromSeconds(60));
        Assert.Contains(records, r => r.Record.GetProperty("log").GetString() == "during");
        Assert.True(forwarder.Metrics.ResendCount >= 1);

        await stop.CancelAsync();
        await running;
    }

    private string AggregatorConfig(int grpcPort, int httpPort) => $"""
        [SERVICE]
            Flush        1
            Log_Level    info
            HTTP_Server  On
            HTTP_Listen  127.0.0.1
            HTTP_Port    {httpPort}
            storage.path {Path.Combine(_node.Directory, "storage")}
            storage.sync normal

        [INPUT]
            Name         gateway_grpc
            Listen       127.0.0.1
            Port         {grpcPort}
            storage.type filesystem

        [OUTPUT]
            Name   file
            Match  *
            Path   {_node.OutDir}
        """;

    private static EventChunk Chunk(string tag, params string[] messages)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        foreach (var message in messages)
        {
            var record = new ArrayBufferWriter<byte>();
            var recordWriter = new MessagePackWriter(record);
            recordWriter.WriteMapHeader(1);
            recordWriter.Write("log");
            recordWriter.Write(message);
            recordWriter.Flush();
            EventWriter.WriteEvent(ref writer, new EventTime(1_700_000_000, 0), record.WrittenSpan);
        }

        writer.Flush();
        return new EventChunk(tag, buffer.WrittenMemory, messages.Length, "node-x");
    }
}
