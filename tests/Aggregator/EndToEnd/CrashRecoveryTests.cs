using System.Globalization;
using Xunit.Abstractions;

namespace Gateway.Aggregator.Tests.EndToEnd;

[Collection(EndToEndCollection.Name)]
public sealed class CrashRecoveryTests(ITestOutputHelper output) : IDisposable
{
    private const int Kills = 5;
    private const int RecordsPerChunk = 50;
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-e2e-kill-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// kill -9 five times while a client streams with acks: nothing acknowledged may be lost, every stored record
    /// must be one the client sent (whole, not torn), and a record may appear twice only as part of a whole chunk
    /// stored twice — a chunk the client resent after its ack was lost, or one the output wrote just before the
    /// kill and the restarted engine delivered again (at-least-once, as Fluent Bit).
    /// </summary>
    [Fact]
    public async Task Acknowledged_records_survive_repeated_kill_minus_9()
    {
        var forwardPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        var config = AggregatorProcess.ForwardToOutputConfig(Path.Combine(_dir, "storage"), httpPort, forwardPort, $"""
            [OUTPUT]
                Name   file
                Match  *
                Path   {outDir}
            """);

        await using var aggregator = AggregatorProcess.Start(_dir, config, httpPort);
        await aggregator.WaitReadyAsync();

        var sender = new AckedChunkSender(forwardPort, "crash.test", RecordsPerChunk);
        using var stop = new CancellationTokenSource();
        var streaming = Task.Run(() => sender.RunAsync(stop.Token));

        for (var kill = 0; kill < Kills; kill++)
        {
            // Let the client get well into the stream, then kill mid-flight.
            var target = sender.AckedCount + 20;
            await WaitUntilAsync(() => sender.AckedCount >= target || streaming.IsCompleted, $"the client to get 20 more chunks acked before kill {kill + 1}", aggregator);
            Assert.False(streaming.IsCompleted, $"the client stopped: {streaming.Exception}");
            await aggregator.KillAsync();
            aggregator.Restart();
            await aggregator.WaitReadyAsync();
        }

        var finalTarget = sender.AckedCount + 20;
        await WaitUntilAsync(() => sender.AckedCount >= finalTarget, "the client to resume after the last restart", aggregator);
        await stop.CancelAsync();
        var sentChunks = await streaming.WaitAsync(TimeSpan.FromSeconds(90));

        var acked = sender.Acked;
        var unanswered = sender.UnansweredAttempts;
        var records = await OutFileRecords.WaitForAsync(outDir, "crash.test", acked.Count * RecordsPerChunk, TimeSpan.FromSeconds(90));
        Assert.Equal(0, await aggregator.TerminateAsync());

        // Count every stored record by (chunk, seq) and check it is one the client built.
        var perChunk = new Dictionary<int, Dictionary<int, int>>();
        foreach (var record in records)
        {
            var chunk = int.Parse(record.Record.GetProperty("chunk").GetString()!, CultureInfo.InvariantCulture);
            var seq = int.Parse(record.Record.GetProperty("seq").GetString()!, CultureInfo.InvariantCulture);
            Assert.InRange(chunk, 0, sentChunks);
            Assert.InRange(seq, chunk * RecordsPerChunk, ((chunk + 1) * RecordsPerChunk) - 1);
            Assert.StartsWith("crash-test record", record.Record.GetProperty("log").GetString(), StringComparison.Ordinal);
            var counts = perChunk.TryGetValue(chunk, out var c) ? c : perChunk[chunk] = [];
            counts[seq] = counts.GetValueOrDefault(seq) + 1;
        }

        // 1. No loss: every record of every acknowledged chunk is there.
        var missing = new List<int>();
        foreach (var chunk in acked)
        {
            if (!perChunk.TryGetValue(chunk, out var counts) || counts.Count != RecordsPerChunk)
            {
                missing.Add(chunk);
            }
        }

        Assert.True(missing.Count == 0, $"acknowledged chunks missing from the output: {string.Join(", ", missing)}\n{aggregator.Log}");

        // 2. Duplicates only as whole chunks (same count for every record of the chunk), and at most once more
        //    than the times that chunk reached the aggregator or a kill could have interrupted its completion.
        var resentDuplicates = 0;
        var replayDuplicates = 0;
        foreach (var (chunk, counts) in perChunk)
        {
            var copies = counts.Values.Max();
            Assert.True(counts.Count == RecordsPerChunk && counts.Values.All(n => n == copies),
                $"chunk {chunk} is stored partially or unevenly duplicated: {counts.Count} records, copies {string.Join(",", counts.Values.Distinct())}");
            if (copies > 1)
            {
                if (unanswered.ContainsKey(chunk))
                {
                    resentDuplicates++;
                }
                else
                {
                    replayDuplicates++;
                }
            }

            Assert.InRange(copies, 1, 1 + unanswered.GetValueOrDefault(chunk) + Kills);
        }

        output.WriteLine($"chunks sent {sentChunks}, acked {acked.Count}, sends without ack {unanswered.Values.Sum()}, records stored {records.Count}, " +
            $"chunks stored twice: {resentDuplicates} resent by the client, {replayDuplicates} re-delivered after a kill");

        // A completion lost to a kill re-delivers what was being flushed at that instant; it cannot be more
        // than a few chunks per kill. Anything beyond means the engine re-sends what it had finished.
        Assert.True(replayDuplicates <= Kills * 4,
            $"{replayDuplicates} acknowledged chunks were delivered twice (resent by the client: {resentDuplicates}); replay re-delivers finished chunks");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, AggregatorProcess aggregator)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}\n{aggregator.Log}");
            }

            await Task.Delay(50);
        }
    }
}
