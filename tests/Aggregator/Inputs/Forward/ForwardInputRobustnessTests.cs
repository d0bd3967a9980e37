using Gateway.Aggregator.Inputs.Forward;
using MessagePack;
using Microsoft.Extensions.Logging;
using static Gateway.Aggregator.Tests.Inputs.Forward.ForwardFrames;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

/// <summary>Runs alone: process-wide memory measurements must not see other tests' allocations.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ForwardIsolatedCollection
{
    public const string Name = "Forward input, isolated";
}

/// <summary>Hostile input at scale: the server keeps serving good clients and its memory stays bounded.</summary>
[Collection(ForwardIsolatedCollection.Name)]
public sealed class ForwardInputRobustnessTests
{
    private const int MalformedConnections = 10_000;

    [Fact]
    public async Task Ten_thousand_malformed_frames_over_many_connections_while_a_good_client_keeps_getting_acks()
    {
        var sink = new CollectingChunkSink { KeepChunks = false };
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { BufferMaxSize = 256 * 1024 }, sink);
        using var done = new CancellationTokenSource();

        var goodClient = Task.Run(async () =>
        {
            await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
            var acked = 0;
            while (!done.IsCancellationRequested || acked == 0)
            {
                var chunk = $"good-{acked}";
                await client.SendAsync(Packed("good", Events(3), 3, chunk));
                Assert.Equal(chunk, await client.ReadAckAsync());
                acked++;
            }

            return acked;
        });

        var frames = MalformedFrames(new Random(42));
        await Parallel.ForEachAsync(Enumerable.Range(0, MalformedConnections), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
        {
            await using var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
            await client.SendIgnoringResetAsync(frames[i % frames.Length]);
            try
            {
                client.ShutdownSend();
            }
            catch (System.Net.Sockets.SocketException)
            {
                // Already closed by the server.
            }

            Assert.True(await client.WaitForCloseAsync());
        });

        done.Cancel();
        var acks = await goodClient;
        Assert.True(acks > 0);

        // Every malformed connection: exactly one error count and one log line, nothing else at warning level.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (server.Metrics.Get("gateway.forward.connection_errors") < MalformedConnections && !timeout.IsCancellationRequested)
        {
            await Task.Delay(20);
        }

        var dropped = server.Logs.Entries.Where(e => e.EventId == 1105).Take(3).Select(e => e.Message);
        Assert.True(
            server.Metrics.Get("gateway.forward.connection_errors") == MalformedConnections,
            $"errors {server.Metrics.Get("gateway.forward.connection_errors")}, total {server.Metrics.Get("gateway.forward.connections_total")}, dropped {server.Logs.Entries.Count(e => e.EventId == 1105)}: {string.Join(" | ", dropped)}");

        Assert.Equal(MalformedConnections, server.Metrics.Get("gateway.forward.connection_errors"));
        Assert.Equal(MalformedConnections, server.Rejections.Count);
        Assert.DoesNotContain(server.Logs.Entries, e => e.Level >= LogLevel.Warning && e.EventId != 1101);
        Assert.Equal(acks * 3L, Interlocked.Read(ref sink.EventsStored));
        Assert.True(server.Metrics.Get("gateway.forward.connection_errors:malformed") > 0);
        Assert.True(server.Metrics.Get("gateway.forward.connection_errors:oversized") > 0);
        Assert.True(server.Metrics.Get("gateway.forward.connection_errors:truncated") > 0);
        Assert.True(server.Metrics.Get("gateway.forward.connection_errors:invalid_event") > 0);
        Assert.True(server.Metrics.Get("gateway.forward.connection_errors:size_mismatch") > 0);
    }

    [Fact]
    public async Task Memory_stays_bounded_by_buffer_max_size_per_connection()
    {
        const int bufferMax = 1024 * 1024;
        const int stalled = 30;
        var sink = new CollectingChunkSink { KeepChunks = false };
        await using var server = await ForwardTestServer.StartAsync(new ForwardInputOptions { BufferMaxSize = bufferMax }, sink);
        var baseline = GC.GetTotalMemory(forceFullCollection: true);

        var clients = new List<ForwardTestClient>();
        try
        {
            // Declared 4 GB / 100 MB payloads: refused from the header, nothing allocated for them.
            for (var i = 0; i < stalled; i++)
            {
                var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
                clients.Add(client);
                byte[] header = [0x92, 0xa1, (byte)'t', 0xc6, 0xff, 0xff, 0xff, 0xff];
                await client.SendIgnoringResetAsync(header);
            }

            // Messages that fit the limit but stall at 90%: held until complete, never more than the limit.
            var almost = Packed("stall", Events(4000, new string('s', 200)), 4000, "s");
            Assert.True(almost.Length < bufferMax, $"{almost.Length}");
            for (var i = 0; i < stalled; i++)
            {
                var client = await ForwardTestClient.ConnectTcpAsync(server.Port);
                clients.Add(client);
                await client.SendAsync(almost[..(almost.Length * 9 / 10)]);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (server.Metrics.Get("gateway.forward.connection_errors:oversized") < stalled)
            {
                await Task.Delay(20, timeout.Token);
            }

            await Task.Delay(200, timeout.Token);
            var growth = GC.GetTotalMemory(forceFullCollection: true) - baseline;

            // 30 pending tails of < 1 MB each (pooled buffers round up to 1 MB) plus test-side buffers.
            Assert.True(growth < 3L * stalled * bufferMax, $"memory grew by {growth / (1024 * 1024)} MB");
            Assert.Equal(0, sink.AppendsStarted);
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    private static byte[][] MalformedFrames(Random random)
    {
        var frames = new List<byte[]>();
        for (var i = 0; i < 50; i++)
        {
            // Not an array: random bytes behind a str/int/map first byte.
            var bytes = new byte[random.Next(1, 64)];
            random.NextBytes(bytes);
            bytes[0] = (byte)random.Next(0x00, 0x90);
            frames.Add(bytes);
        }

        frames.Add([0xc1]);
        frames.Add([0x92, 0xa1, (byte)'t', 0xc6, 0xff, 0xff, 0xff, 0xff]);
        frames.Add([0x92, 0xa1, (byte)'t', 0xdd, 0x7f, 0xff, 0xff, 0xff]);
        frames.Add([0x92, 0x01, 0x02]);
        frames.Add([0x94, 0xa1, (byte)'t', 0xc0, 0xc0, 0xc0]);
        var valid = Packed("t", Events(5), 5, "c");
        frames.Add(valid[..^3]);
        frames.Add(valid[..1]);
        frames.Add(Packed("t", Events(5), 4, "c"));
        frames.Add(Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write("t");
            w.Write(Msgpack((ref MessagePackWriter e) =>
            {
                e.WriteArrayHeader(2);
                e.Write(-1);
                e.WriteMapHeader(0);
            }));
        }));
        frames.Add(Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write("t");
            w.Write(Events(1));
            w.Write("options-not-a-map");
        }));
        return [.. frames];
    }
}
