using Gateway.Aggregator.Inputs.Grpc;
using Gateway.Engine.Records;
using Gateway.Protos.Client;
using Gateway.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Tests.Inputs.Grpc;

/// <summary>Apps sending structured events to a gateway_grpc input with <see cref="GatewayLogClient"/>.</summary>
public sealed class AppIngestTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private GrpcInputTestHost _host = null!;
    private GatewayLogClient _client = null!;

    public async Task InitializeAsync()
    {
        _host = await GrpcInputTestHost.StartAsync(new GrpcInputOptions { MaxBatchBytes = 8192 });
        _client = new GatewayLogClient(new GatewayLogClientOptions { Address = _host.Address, DefaultTag = "app.orders", NodeName = "node-1" });
    }

    public async Task DisposeAsync()
    {
        await _client.DisposeAsync();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Structured_body_is_stored_as_a_msgpack_map_with_typed_values_in_order()
    {
        var time = new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero).AddTicks(1234567);
        var e = GatewayValues.CreateEvent(null, time,
        [
            new("message", "order placed"),
            new("order_id", 42L),
            new("amount", 9.5),
            new("paid", true),
            new("items", new object?[] { "book", 2 }),
            new("customer", new Dictionary<string, object?> { ["id"] = "c-7", ["vip"] = false }),
            new("note", null),
        ]);

        var ack = await _client.SendAsync([e]).WaitAsync(Wait);

        Assert.Equal(1u, ack.Accepted);
        var (tag, storedTime, json) = Assert.Single(_host.Sink.Events());
        Assert.Equal("app.orders", tag);
        Assert.Equal(new EventTime((uint)time.ToUnixTimeSeconds(), 123_456_700), storedTime);
        Assert.Equal("""{"message":"order placed","order_id":42,"amount":9.5,"paid":true,"items":["book",2],"customer":{"id":"c-7","vip":false},"note":null}""", json);
        Assert.Equal("node-1", Assert.Single(_host.Sink.Chunks).NodeName);
    }

    [Fact]
    public async Task Streamed_batches_are_each_acknowledged_in_order_after_being_stored()
    {
        var sends = new List<Task<BatchAck>>();
        for (var i = 0; i < 20; i++)
        {
            sends.Add(_client.SendAsync([GatewayValues.CreateEvent(i % 2 == 0 ? "app.even" : null, DateTimeOffset.UtcNow, [new("n", i)])]));
        }

        var acks = await Task.WhenAll(sends).WaitAsync(Wait);

        Assert.All(acks, ack => Assert.Equal(1u, ack.Accepted));
        var stored = _host.Sink.Events();
        Assert.Equal(20, stored.Count);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(i % 2 == 0 ? "app.even" : "app.orders", stored[i].Tag);
            Assert.Equal($$"""{"n":{{i}}}""", stored[i].Json);
        }
    }

    [Fact]
    public async Task Unary_push_stores_and_acknowledges_and_time_zero_means_receive_time()
    {
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var batch = new EventBatch { Tag = "app.simple" };
        batch.Events.Add(new Event { Body = { ["msg"] = new Value { StringValue = "hi" } } });

        var ack = await _client.PushAsync(batch).WaitAsync(Wait);

        Assert.Equal(1u, ack.Accepted);
        var stored = Assert.Single(_host.Sink.Events());
        Assert.Equal("app.simple", stored.Tag);
        Assert.InRange(stored.Time.Seconds, before, DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
    }

    [Fact]
    public async Task Event_with_both_body_and_record_msgpack_is_InvalidArgument_and_nothing_is_stored()
    {
        var batch = new EventBatch { BatchId = "both-1" };
        batch.Events.Add(new Event { Body = { ["a"] = new Value { IntValue = 1 } } });
        batch.Events.Add(new Event { Body = { ["a"] = new Value { IntValue = 2 } }, RecordMsgpack = ByteString.CopyFrom(0x80) });

        var error = await Assert.ThrowsAsync<RpcException>(() => _client.PushAsync(batch)).WaitAsync(Wait);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("batch 'both-1'", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("event 1 sets both record_msgpack and body", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_host.Sink.Chunks);
    }

    [Fact]
    public async Task Body_nested_deeper_than_the_limit_is_InvalidArgument()
    {
        var value = new Value { StringValue = "leaf" };
        for (var i = 0; i < 20; i++)
        {
            var map = new ValueMap();
            map.Fields["k"] = value;
            value = new Value { MapValue = map };
        }

        var batch = new EventBatch { BatchId = "deep" };
        batch.Events.Add(new Event { Body = { ["root"] = value } });

        var error = await Assert.ThrowsAsync<RpcException>(() => _client.PushAsync(batch)).WaitAsync(Wait);

        Assert.True(error.StatusCode == StatusCode.InvalidArgument, error.ToString());
        Assert.Contains("nests deeper than 16 levels", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_host.Sink.Chunks);
    }

    [Fact]
    public async Task Batch_over_Buffer_Max_Size_fails_the_stream_send_with_ResourceExhausted_and_the_next_send_works()
    {
        var big = new List<Event>();
        for (var i = 0; i < 20; i++)
        {
            big.Add(GatewayValues.CreateEvent(null, DateTimeOffset.UtcNow, [new("blob", new string('x', 1000))]));
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => _client.SendAsync(big)).WaitAsync(Wait);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("exceed Buffer_Max_Size (8192)", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_host.Sink.Chunks);

        // The refused batch ended that stream; the client opens a new one for the next send.
        var ack = await _client.SendAsync([GatewayValues.CreateEvent(null, DateTimeOffset.UtcNow, [new("ok", true)])]).WaitAsync(Wait);
        Assert.Equal(1u, ack.Accepted);
    }
}

/// <summary>The <c>AddGateway</c> logging provider against an aggregator that is not there yet.</summary>
public sealed class GatewayLoggerProviderTests
{
    [Fact]
    public async Task Entries_logged_while_the_aggregator_is_down_are_resent_until_acknowledged()
    {
        var port = Gateway.Aggregator.Tests.EndToEnd.FreePort.Next();
        var provider = new GatewayLoggerProvider(new GatewayLoggerOptions
        {
            Address = new Uri($"http://127.0.0.1:{port}"),
            Tag = "app.late",
            FlushInterval = TimeSpan.FromMilliseconds(50),
            ShutdownTimeout = TimeSpan.FromSeconds(30),
        });
        var logger = provider.CreateLogger("Late.Category");
        for (var i = 0; i < 3; i++)
        {
            logger.LogInformation("entry {Number}", i);
        }

        // Nothing listens yet: the sends fail and are retried with backoff.
        await Task.Delay(500);
        Assert.Equal(0, provider.Sent);

        await using var host = await GrpcInputTestHost.StartAsync(new GrpcInputOptions(), port);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (provider.Sent < 3 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        provider.Dispose();
        Assert.Equal((3, 0), (provider.Sent, provider.Dropped));
        var stored = host.Sink.Events();
        Assert.Equal(3, stored.Count);
        Assert.All(stored, e => Assert.Equal("app.late", e.Tag));
        Assert.Equal("""{"message":"entry 0","level":"info","category":"Late.Category","Number":0}""", stored[0].Json);
    }

    [Fact]
    public void Entries_beyond_the_queue_capacity_are_dropped_and_counted()
    {
        // A port nothing listens on and a long flush interval: the queue fills and stays full.
        var provider = new GatewayLoggerProvider(new GatewayLoggerOptions
        {
            Address = new Uri($"http://127.0.0.1:{Gateway.Aggregator.Tests.EndToEnd.FreePort.Next()}"),
            QueueCapacity = 10,
            MaxBatchSize = 5,
            FlushInterval = TimeSpan.FromMinutes(5),
            ShutdownTimeout = TimeSpan.FromMilliseconds(200),
        });
        var logger = provider.CreateLogger("Busy");
        for (var i = 0; i < 25; i++)
        {
            logger.LogWarning("entry {Number}", i);
        }

        // Held: the queue (10) plus, depending on timing, up to one batch (5) the send loop took out of it.
        Assert.InRange(provider.Dropped, 10, 15);
        provider.Dispose();
        Assert.Equal(0, provider.Sent);
    }
}
