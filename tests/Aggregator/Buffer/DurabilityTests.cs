using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Routing;
using Gateway.Aggregator.Tests.Engine;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Routing;

namespace Gateway.Aggregator.Tests.Buffer;

/// <summary>
/// Crash-recovery behaviour of the segment buffer, with the crash simulated in-process: the engine's workers are
/// stopped and every file handle dropped without finishing anything, leaving exactly the files a killed process
/// leaves (appends were written with plain write calls, which is what survives kill -9).
/// </summary>
public sealed class DurabilityTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(2000);

    private static OutputRegistration All(IOutput output) => new(output, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task After_a_crash_pending_chunks_are_replayed_and_completed_ones_are_not(bool checksum)
    {
        using var dir = new TempDirectory();
        var options = new BufferOptions { StoragePath = dir.Storage, Checksum = checksum };

        // Output "a" delivers the first 6 chunks then hangs; output "b" delivers everything.
        var a1 = new RecordingOutput("a", (_, attempt, ct) => attempt <= 6 ? ValueTask.FromResult(FlushResult.Ok) : TestEngines.Hang(ct));
        var b1 = new RecordingOutput("b");
        var engine1 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(a1), All(b1)));
        var sent = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            await engine1.AppendAsync(TestChunks.Make($"app.{i % 3}", $"c{i}"), CancellationToken.None);
            sent.Add($"c{i}");
        }

        await Eventually.TrueAsync(() => b1.Delivered.Count == 20 && a1.Delivered.Count == 6 && a1.AttemptCount == 7, "first run progress");
        await engine1.SimulateCrashAsync();

        var a2 = new RecordingOutput("a");
        var b2 = new RecordingOutput("b");
        await using var engine2 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(a2), All(b2)));

        await Eventually.TrueAsync(() => a2.Delivered.Count == 14, "replay to a");
        Assert.Equal(sent.Skip(6), a2.DeliveredKeys); // in the original order, none of the delivered six
        Assert.Empty(b2.Delivered); // b had finished everything: nothing again
        Assert.Equal(14, engine2.Metrics.ReplayedChunks);
        Assert.Equal(0, engine2.Metrics.TornRecordsTruncated);

        // Replayed chunks keep tag and counts.
        Assert.All(a2.Delivered, c => Assert.StartsWith("app.", c.Tag, StringComparison.Ordinal));
        Assert.All(a2.Delivered, c => Assert.Equal(3, c.EventCount));

        // Once everything is delivered, a third start finds nothing to do and the segments are gone.
        await engine2.StopAsync(CancellationToken.None);
        var a3 = new RecordingOutput("a");
        await using var engine3 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(a3), All(new RecordingOutput("b"))));
        Assert.Equal(0, engine3.Metrics.ReplayedChunks);
        Assert.Empty(Directory.GetFiles(dir.Storage, "*.log"));
        Assert.Empty(Directory.GetFiles(dir.Storage, "*.done"));
    }

    [Fact]
    public async Task New_appends_after_a_restart_queue_behind_the_replayed_chunks()
    {
        using var dir = new TempDirectory();
        var options = new BufferOptions { StoragePath = dir.Storage };
        var hung = new RecordingOutput("out", (_, _, ct) => TestEngines.Hang(ct));
        var engine1 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(hung)));
        for (var i = 0; i < 5; i++)
        {
            await engine1.AppendAsync(TestChunks.Make("t", $"old{i}"), CancellationToken.None);
        }

        await engine1.SimulateCrashAsync();

        var output = new RecordingOutput("out");
        var engine2 = TestEngines.Create(options, null, All(output));
        await using var _ = engine2;
        await engine2.StartAsync(CancellationToken.None);
        var append = engine2.AppendAsync(TestChunks.Make("t", "new0"), CancellationToken.None).AsTask(); // waits for replay
        await engine2.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        await append.WaitAsync(TimeSpan.FromSeconds(30));

        await Eventually.TrueAsync(() => output.Delivered.Count == 6, "all delivered");
        Assert.Equal(["old0", "old1", "old2", "old3", "old4", "new0"], output.DeliveredKeys);
    }

    [Theory]
    [InlineData("cut", false)]
    [InlineData("cut", true)]
    [InlineData("garbage", false)]
    [InlineData("flip", true)]
    public async Task A_torn_or_corrupt_tail_is_truncated_with_a_count_and_the_rest_is_replayed(string damage, bool checksum)
    {
        using var dir = new TempDirectory();
        var options = new BufferOptions { StoragePath = dir.Storage, Checksum = checksum };
        var hung = new RecordingOutput("out", (_, _, ct) => TestEngines.Hang(ct));
        var engine1 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(hung)));
        for (var i = 0; i < 8; i++)
        {
            await engine1.AppendAsync(TestChunks.Make("t", $"c{i}", events: 4, padding: 100), CancellationToken.None);
        }

        await engine1.SimulateCrashAsync();
        var segment = Assert.Single(Directory.GetFiles(dir.Storage, "*.log"));
        var length = new FileInfo(segment).Length;
        switch (damage)
        {
            case "cut": // the last frame was half-written when the process died
                using (var f = new FileStream(segment, FileMode.Open))
                {
                    f.SetLength(length - 50);
                }

                break;
            case "garbage": // junk after the last good frame
                File.AppendAllText(segment, "this is not a frame, just noise from a bad disk");
                break;
            case "flip": // a bit flipped inside the last frame's payload
                using (var f = new FileStream(segment, FileMode.Open))
                {
                    f.Position = length - 20;
                    var b = f.ReadByte();
                    f.Position = length - 20;
                    f.WriteByte((byte)(b ^ 0x40));
                }

                break;
        }

        var output = new RecordingOutput("out");
        await using var engine2 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(output)));

        var expected = damage == "garbage" ? 8 : 7;
        await Eventually.TrueAsync(() => output.Delivered.Count == expected, $"{expected} chunks replayed");
        Assert.Equal(Enumerable.Range(0, expected).Select(i => $"c{i}"), output.DeliveredKeys);
        Assert.Equal(1, engine2.Metrics.TornRecordsTruncated);

        // New data still goes in and out after the repair.
        await engine2.AppendAsync(TestChunks.Make("t", "after"), CancellationToken.None);
        await Eventually.TrueAsync(() => output.Delivered.Count == expected + 1, "new chunk delivered");
    }

    [Fact]
    public async Task A_corrupt_chunk_in_the_middle_of_a_segment_is_skipped_and_the_ones_after_it_replayed()
    {
        using var dir = new TempDirectory();
        var options = new BufferOptions { StoragePath = dir.Storage, Checksum = true };
        var hung = new RecordingOutput("out", (_, _, ct) => TestEngines.Hang(ct));
        var engine1 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(hung)));
        var sizes = new List<long>();
        for (var i = 0; i < 5; i++)
        {
            await engine1.AppendAsync(TestChunks.Make("t", $"c{i}", events: 4, padding: 100), CancellationToken.None);
            sizes.Add(engine1.DiskBytes);
        }

        await engine1.SimulateCrashAsync();
        var segment = Assert.Single(Directory.GetFiles(dir.Storage, "*.log"));
        using (var f = new FileStream(segment, FileMode.Open))
        {
            f.Position = sizes[2] - 30; // inside chunk c2's payload
            var b = f.ReadByte();
            f.Position = sizes[2] - 30;
            f.WriteByte((byte)(b ^ 0x01));
        }

        var output = new RecordingOutput("out");
        await using var engine2 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(output)));

        await Eventually.TrueAsync(() => output.Delivered.Count == 4, "the four intact chunks replayed");
        Assert.Equal(["c0", "c1", "c3", "c4"], output.DeliveredKeys);
        Assert.Equal(1, engine2.Metrics.TornRecordsTruncated);
    }

    [Fact]
    public async Task A_torn_journal_entry_only_costs_a_duplicate_never_a_loss()
    {
        using var dir = new TempDirectory();
        var options = new BufferOptions { StoragePath = dir.Storage };
        var first = new RecordingOutput("out", (_, attempt, ct) => attempt <= 3 ? ValueTask.FromResult(FlushResult.Ok) : TestEngines.Hang(ct));
        var engine1 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(first)));
        for (var i = 0; i < 5; i++)
        {
            await engine1.AppendAsync(TestChunks.Make("t", $"c{i}"), CancellationToken.None);
        }

        await Eventually.TrueAsync(() => first.AttemptCount == 4, "three delivered, the fourth hangs");
        await engine1.SimulateCrashAsync();
        var journal = Assert.Single(Directory.GetFiles(dir.Storage, "*.done"));
        using (var f = new FileStream(journal, FileMode.Open))
        {
            f.SetLength(f.Length - 5); // the third entry was half-written
        }

        var output = new RecordingOutput("out");
        await using var engine2 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(output)));

        await Eventually.TrueAsync(() => output.Delivered.Count == 3, "replay");
        Assert.Equal(["c2", "c3", "c4"], output.DeliveredKeys);
        Assert.Equal(1, engine2.Metrics.TornRecordsTruncated);
    }

    [Fact]
    public async Task Files_that_are_not_segments_and_empty_segments_do_not_break_startup()
    {
        using var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Storage);
        File.WriteAllText(Path.Combine(dir.Storage, "README.txt"), "not ours");
        File.WriteAllBytes(Path.Combine(dir.Storage, SegmentFormat.SegmentFileName(7)), []);
        var output = new RecordingOutput("out");
        await using var engine = await TestEngines.StartAsync(TestEngines.Create(new BufferOptions { StoragePath = dir.Storage }, null, All(output)));

        await engine.AppendAsync(TestChunks.Make("t", "x"), CancellationToken.None);

        await Eventually.TrueAsync(() => output.Delivered.Count == 1, "delivered");
        Assert.False(File.Exists(Path.Combine(dir.Storage, SegmentFormat.SegmentFileName(7)))); // empty: removed
        Assert.True(File.Exists(Path.Combine(dir.Storage, SegmentFormat.SegmentFileName(8)))); // numbering continues
    }

    [Fact]
    public async Task A_second_engine_on_the_same_storage_path_fails_to_start_instead_of_sharing_it()
    {
        using var dir = new TempDirectory();
        var options = new BufferOptions { StoragePath = dir.Storage };
        await using var first = await TestEngines.StartAsync(TestEngines.Create(options, null, All(new RecordingOutput("out"))));

        await using var second = TestEngines.Create(options, null, All(new RecordingOutput("out")));
        await second.StartAsync(CancellationToken.None);
        var ex = await Assert.ThrowsAsync<IOException>(() => second.Ready.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("in use by another process", ex.Message, StringComparison.Ordinal);
        Assert.False(second.IsReady);
        Assert.True(first.IsReady);
    }
}
