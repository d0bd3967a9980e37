using Xunit.Abstractions;

namespace Gateway.Aggregator.Tests.EndToEnd;

[Collection(EndToEndCollection.Name)]
public sealed class SlowOutputTests(ITestOutputHelper output) : IDisposable
{
    private const int Chunks = 800;
    private const int RecordsPerChunk = 1000;
    private const int MaxChunksUp = 4;
    private const long BacklogMemLimit = 5_000_000;

    // Runtime, GC headroom, Kestrel and the output's own buffers on top of the configured chunk memory. The
    // data streamed (~150 MB) is about twice bound + slack, so holding the backlog in memory fails the test.
    private const long Slack = 64L * 1024 * 1024;

    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-e2e-slow-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Output_ten_times_slower_than_input_keeps_memory_bounded_and_loses_nothing()
    {
        await using var downstream = new SlowForwardServer("slow.test", Chunks * RecordsPerChunk);
        var forwardPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var config = $"""
            [SERVICE]
                Flush                     1
                Log_Level                 warn
                HTTP_Server               On
                HTTP_Listen               127.0.0.1
                HTTP_Port                 {httpPort}
                storage.path              {Path.Combine(_dir, "storage")}
                storage.sync              normal
                storage.max_chunks_up     {MaxChunksUp}
                storage.backlog.mem_limit {BacklogMemLimit}

            [INPUT]
                Name         forward
                Listen       127.0.0.1
                Port         {forwardPort}
                storage.type filesystem

            [OUTPUT]
                Name                 forward
                Match                *
                Host                 127.0.0.1
                Port                 {downstream.Port}
                Require_ack_response true
            """;

        await using var aggregator = AggregatorProcess.Start(_dir, config, httpPort);
        await aggregator.WaitReadyAsync();

        // Warm up (JIT, first connections, first segment) before taking the memory baseline.
        var warmup = new AckedChunkSender(forwardPort, "warmup", 100);
        await warmup.RunAsync(CancellationToken.None, maxChunks: 20).WaitAsync(TimeSpan.FromSeconds(90));
        var baseline = aggregator.Memory().Rss;

        var sender = new AckedChunkSender(forwardPort, "slow.test", RecordsPerChunk);
        var sent = await sender.RunAsync(CancellationToken.None, maxChunks: Chunks).WaitAsync(TimeSpan.FromMinutes(5));
        var (rssAtEndOfInput, peak) = aggregator.Memory();
        var deliveredWhileSlow = downstream.DistinctRecords;
        output.WriteLine($"input done: {sent} chunks acked; downstream had {deliveredWhileSlow} of {Chunks * RecordsPerChunk} records; " +
            $"RSS baseline {baseline >> 20} MiB, now {rssAtEndOfInput >> 20} MiB, peak {peak >> 20} MiB");

        Assert.Equal(Chunks, sent);
        // The output really was the bottleneck: most of the input was still buffered when the input finished.
        Assert.True(deliveredWhileSlow < Chunks * RecordsPerChunk / 2, $"the downstream kept up ({deliveredWhileSlow} records delivered): the test did not build a backlog");

        var bound = (MaxChunksUp * 2L * 1024 * 1024) + BacklogMemLimit;
        Assert.True(peak - baseline < bound + Slack,
            $"peak RSS grew by {(peak - baseline) >> 20} MiB over the baseline; the configured chunk memory is {bound >> 20} MiB (+{Slack >> 20} MiB slack)");

        // The downstream recovers: everything buffered must arrive, nothing dropped.
        downstream.DelayPerMessage = TimeSpan.Zero;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (downstream.DistinctRecords < Chunks * RecordsPerChunk && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200);
        }

        output.WriteLine($"drained: {downstream.DistinctRecords} distinct of {downstream.RecordsReceived} received; peak RSS {aggregator.Memory().Peak >> 20} MiB");
        Assert.True(downstream.DistinctRecords == Chunks * RecordsPerChunk,
            $"{Chunks * RecordsPerChunk - downstream.DistinctRecords} records never reached the downstream\n{aggregator.Log}");
        Assert.Equal(0, await aggregator.TerminateAsync());
    }
}
