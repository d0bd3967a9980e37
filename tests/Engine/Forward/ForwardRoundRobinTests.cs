using System.Buffers;
using Gateway.Engine.Forward;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Engine.Tests.Forward;

public sealed class ForwardRoundRobinTests
{
    private static EventChunk Chunk(string tag)
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventWriter.WriteEvent(buffer, new EventTime(1_700_000_000u, 0), [new("log", "line of " + tag)]);
        return new EventChunk(tag, buffer.WrittenSpan.ToArray(), 1);
    }

    private static ForwardClientOptions RoundRobin(params TestForwardServer[] servers)
    {
        var endpoints = new ForwardEndpoint[servers.Length];
        for (var i = 0; i < servers.Length; i++)
        {
            endpoints[i] = new ForwardEndpoint("127.0.0.1", servers[i].Port);
        }

        return new ForwardClientOptions
        {
            Endpoints = endpoints,
            Balance = ForwardBalance.RoundRobin,
            RequireAck = true,
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(20),
            ReconnectMaxDelay = TimeSpan.FromMilliseconds(200),
        };
    }

    private static HashSet<string> Tags(params TestForwardServer[] servers)
    {
        var tags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in servers)
        {
            foreach (var message in server.Messages)
            {
                tags.Add(message.Tag);
            }
        }

        return tags;
    }

    [Fact]
    public async Task Round_robin_spreads_chunks_evenly_across_all_three_servers()
    {
        await using var a = new TestForwardServer();
        await using var b = new TestForwardServer();
        await using var c = new TestForwardServer();
        await using var client = new ForwardClient(RoundRobin(a, b, c), NullLogger.Instance);

        for (var i = 0; i < 9; i++)
        {
            var result = await client.SendAsync(Chunk("t" + i), CancellationToken.None);
            Assert.Equal(ForwardSendStatus.Delivered, result.Status);
        }

        Assert.Equal(3, a.Messages.Count);
        Assert.Equal(3, b.Messages.Count);
        Assert.Equal(3, c.Messages.Count);
        Assert.Equal(9, Tags(a, b, c).Count);
        Assert.Equal(0, client.PendingCount);

        // One connection per server, not one per chunk.
        Assert.Equal(1, a.ConnectionCount);
        Assert.Equal(1, b.ConnectionCount);
        Assert.Equal(1, c.ConnectionCount);
    }

    [Fact]
    public async Task A_stopped_server_s_unacked_chunks_are_resent_on_the_others_which_then_take_its_share()
    {
        await using var a = new TestForwardServer();
        var b = new TestForwardServer { ShouldAck = (_, _) => false };
        await using var c = new TestForwardServer();
        await using var client = new ForwardClient(RoundRobin(a, b, c), NullLogger.Instance);

        // Six chunks at once: b receives its two but never acks them.
        var first = new Task<ForwardSendResult>[6];
        for (var i = 0; i < first.Length; i++)
        {
            first[i] = client.SendAsync(Chunk("first" + i), CancellationToken.None);
        }

        await b.WaitUntilAsync(() => b.Messages.Count == 2, "b to receive its share");
        var unackedOnB = Tags(b);
        await b.DisposeAsync();

        foreach (var result in await Task.WhenAll(first).WaitAsync(TimeSpan.FromSeconds(30)))
        {
            Assert.Equal(ForwardSendStatus.Delivered, result.Status);
        }

        var delivered = Tags(a, c);
        Assert.Equal(6, delivered.Count);
        Assert.Subset(delivered, unackedOnB);

        // With b down, the next chunks all go to a and c, and none is lost.
        for (var i = 0; i < 6; i++)
        {
            var result = await client.SendAsync(Chunk("second" + i), CancellationToken.None);
            Assert.Equal(ForwardSendStatus.Delivered, result.Status);
        }

        Assert.Equal(12, Tags(a, c).Count);
        Assert.True(a.Messages.Count >= 4, $"a got {a.Messages.Count}");
        Assert.True(c.Messages.Count >= 4, $"c got {c.Messages.Count}");
        Assert.Equal(2, b.Messages.Count);
        Assert.Equal(0, client.PendingCount);
    }
}
