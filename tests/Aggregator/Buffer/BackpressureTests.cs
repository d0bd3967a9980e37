using System.Collections.Concurrent;
using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Routing;
using Gateway.Aggregator.Tests.Engine;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Routing;

namespace Gateway.Aggregator.Tests.Buffer;

/// <summary>
/// Memory and disk bounds with an output much slower than the producers: appends wait (or spill to disk),
/// nothing is dropped, and the bytes held in memory never exceed the configured bound (checked with the
/// budgets' high-water marks, not by sampling).
/// </summary>
public sealed class BackpressureTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(2000);

    /// <summary>Each flush takes about ten times as long as producing a chunk.</summary>
    private static RecordingOutput SlowOutput(string name) => new(name, async (_, _, ct) =>
    {
        await Task.Delay(2, ct);
        return FlushResult.Ok;
    });

    [Fact]
    public async Task Memory_storage_with_Mem_Buf_Limit_makes_appends_wait_and_drops_nothing()
    {
        var output = SlowOutput("slow");
        var engine = TestEngines.Create(new BufferOptions(), null, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap)));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);
        const long limit = 16 * 1024;
        var sink = engine.CreateInputSink(new InputStorageOptions { StorageType = StorageType.Memory, MemBufLimitBytes = limit }, "forward.0");

        var producers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await sink.AppendAsync(TestChunks.Make("app", $"p{p}-{i}", events: 10, padding: 100), CancellationToken.None);
            }
        })).ToArray();
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(60));

        await Eventually.TrueAsync(() => output.Delivered.Count == 200, "all 200 chunks delivered");
        Assert.Equal(200, output.DeliveredKeys.Distinct().Count());
        var budget = Assert.Single(engine.InputBudgets);
        Assert.InRange(budget.PeakBytes, 1, limit);
        Assert.True(engine.Metrics.BackpressureWaits > 0, "producers had to wait");
        Assert.Equal(0, engine.Outputs[0].DroppedRecords);
        await Eventually.TrueAsync(() => engine.MemoryBytes == 0, "memory released");
    }

    [Fact]
    public async Task Filesystem_storage_spills_to_disk_within_memory_bounds_and_waits_at_the_disk_cap()
    {
        using var dir = new TempDirectory();
        const long chunkLimit = 32 * 1024;
        const long backlogLimit = 16 * 1024;
        var options = new BufferOptions
        {
            StoragePath = dir.Storage,
            ChunkMemoryLimitBytes = chunkLimit,
            BacklogMemLimitBytes = backlogLimit,
            TotalLimitBytes = 512 * 1024,
        };
        var output = SlowOutput("slow");
        var engine = TestEngines.Create(options, null, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap), workers: 2));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        var producers = Enumerable.Range(0, 4).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await engine.AppendAsync(TestChunks.Make("app", $"p{p}-{i}", events: 20, padding: 100), CancellationToken.None);
            }
        })).ToArray();
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(90));

        await Eventually.TrueAsync(() => output.Delivered.Count == 400, "all 400 chunks delivered", TimeSpan.FromSeconds(90));
        Assert.Equal(400, output.DeliveredKeys.Distinct().Count());
        Assert.InRange(engine.PeakChunkMemoryBytes, 1, chunkLimit);
        Assert.InRange(engine.PeakBacklogMemoryBytes, 1, backlogLimit); // chunks were read back from disk
        Assert.True(engine.Metrics.BackpressureWaits > 0, "appends waited at the disk cap");
        Assert.True(engine.Store!.DiskBudget!.PeakBytes <= 512 * 1024, $"disk peak {engine.Store.DiskBudget.PeakBytes}");
        Assert.Equal(0, engine.Outputs[0].DroppedRecords);
    }

    [Fact]
    public async Task Storage_max_chunks_up_counts_filesystem_chunks_as_fluent_bit_does_whatever_their_size()
    {
        // Small chunks (one forward message each) under a byte budget that would hold them all: the count decides.
        using var dir = new TempDirectory();
        var options = new BufferOptions { StoragePath = dir.Storage, MaxChunksUp = 3 };
        Assert.True(options.ChunkMemoryLimitBytes > 100 * 4096, "the byte budget alone would keep every chunk up");
        var output = SlowOutput("slow");
        var engine = TestEngines.Create(options, null, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap), workers: 1));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        for (var i = 0; i < 100; i++)
        {
            await engine.AppendAsync(TestChunks.Make("app", $"c{i}", events: 10, padding: 100), CancellationToken.None);
        }

        await Eventually.TrueAsync(() => output.Delivered.Count == 100, "all 100 chunks delivered", TimeSpan.FromSeconds(90));
        Assert.Equal(100, output.DeliveredKeys.Distinct().Count());
        Assert.InRange(engine.PeakFilesystemChunksUp, 1, 3);
        Assert.True(engine.PeakBacklogMemoryBytes > 0, "the chunks over the count waited on disk and were read back");
        await Eventually.TrueAsync(() => engine.MemoryBytes == 0, "memory released");
    }

    [Fact]
    public async Task Many_producers_appending_concurrently_deliver_every_chunk_exactly_once_to_every_output()
    {
        using var dir = new TempDirectory();
        var options = new BufferOptions { StoragePath = dir.Storage, Checksum = true, SegmentBytes = 256 * 1024 };
        var a = new RecordingOutput("a");
        var b = new RecordingOutput("b");
        var engine = TestEngines.Create(
            options,
            null,
            new OutputRegistration(a, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap), workers: 3),
            new OutputRegistration(b, new TagMatcher("app.*", null), new RetryPolicy(1, Base, Cap), workers: 1));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);
        var sent = new ConcurrentBag<string>();

        var producers = Enumerable.Range(0, 16).Select(p => Task.Run(async () =>
        {
            for (var i = 0; i < 60; i++)
            {
                var key = $"p{p}-{i}";
                await engine.AppendAsync(TestChunks.Make("app." + p, key, events: 5), CancellationToken.None);
                sent.Add(key);
            }
        })).ToArray();
        await Task.WhenAll(producers).WaitAsync(TimeSpan.FromSeconds(60));

        await Eventually.TrueAsync(() => a.Delivered.Count >= 960 && b.Delivered.Count >= 960, "all delivered to both outputs");
        Assert.Equal(sent.Order(StringComparer.Ordinal), a.DeliveredKeys.Order(StringComparer.Ordinal));
        Assert.Equal(sent.Order(StringComparer.Ordinal), b.DeliveredKeys.Order(StringComparer.Ordinal));
        Assert.Equal(960, engine.Metrics.ChunksAppended);
        Assert.Equal(960 * 5, engine.Metrics.RecordsAppended);

        // Everything delivered: sealed segments are deleted as they drain (only the open one may remain).
        await Eventually.TrueAsync(() => Directory.GetFiles(dir.Storage, "*.log").Length <= 1, "drained segments deleted");
    }
}
