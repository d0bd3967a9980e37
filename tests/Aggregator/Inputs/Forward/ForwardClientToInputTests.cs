using Gateway.Aggregator.Inputs.Forward;
using Gateway.Engine.Forward;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using Microsoft.Extensions.Logging.Abstractions;
using static Gateway.Aggregator.Tests.Inputs.Forward.ForwardFrames;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

/// <summary>The engine's forward client (used by outputs and the shipper) against this input, end to end.</summary>
public sealed class ForwardClientToInputTests
{
    [Theory]
    [InlineData(ForwardCompression.None)]
    [InlineData(ForwardCompression.Gzip)]
    [InlineData(ForwardCompression.Zstd)]
    public async Task Client_with_shared_key_user_and_acks_delivers_every_chunk(ForwardCompression compression)
    {
        var options = new ForwardInputOptions { SharedKey = "cluster-key", SelfHostname = "aggregator-0", Users = [new ForwardUser("shipper", "pw")] };
        await using var server = await ForwardTestServer.StartAsync(options);
        await using var client = new ForwardClient(
            new ForwardClientOptions
            {
                Endpoints = [new ForwardEndpoint("127.0.0.1", server.Port)],
                RequireAck = true,
                Compression = compression,
                SharedKey = "cluster-key",
                SelfHostname = "node-17",
                Username = "shipper",
                Password = "pw",
            },
            NullLogger.Instance);

        var sent = Enumerable.Range(0, 20).Select(i => new EventChunk($"kube.pod{i}", Events(i + 1, $"line{i}"), i + 1, "node-17")).ToList();
        var results = await Task.WhenAll(sent.Select(c => client.SendAsync(c, CancellationToken.None)));
        Assert.All(results, r => Assert.Equal(ForwardSendStatus.Delivered, r.Status));

        var received = server.Sink.Chunks.OrderBy(c => c.EventCount).ToList();
        Assert.Equal(20, received.Count);
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(sent[i].Tag, received[i].Tag);
            Assert.Equal(sent[i].Events.ToArray(), received[i].Events.ToArray());
            Assert.Equal("node-17", received[i].NodeName);
        }

        Assert.Equal(20, server.Metrics.Get("gateway.forward.acks_sent"));
    }

    [Fact]
    public async Task Client_with_the_wrong_key_gets_retry_and_nothing_is_stored()
    {
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { SharedKey = "cluster-key" });
        await using var client = new ForwardClient(
            new ForwardClientOptions
            {
                Endpoints = [new ForwardEndpoint("127.0.0.1", server.Port)],
                RequireAck = true,
                SharedKey = "wrong",
                SelfHostname = "node-1",
                AckTimeout = TimeSpan.FromSeconds(10),
            },
            NullLogger.Instance);

        var result = await client.SendAsync(new EventChunk("t", Events(1), 1), CancellationToken.None);
        Assert.Equal(ForwardSendStatus.Retry, result.Status);
        Assert.Empty(server.Sink.Chunks);
        Assert.True(server.Metrics.Get("gateway.forward.connection_errors:unauthenticated") >= 1);
    }
}
