using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.State;
using Gateway.Shipper.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Tests.Inputs.Tail;

/// <summary>Offsets move only on acknowledgement; restarts resume exactly there; Mem_Buf_Limit pauses reading.</summary>
public sealed class TailOffsetTests
{
    private const string AppLog = "/var/log/app/app.log";

    private static Engine.Config.ConfigSection Section(TempNodeRoot root, params (string, string)[] extra) =>
        Sections.Tail(
            [
                ("Path", AppLog),
                ("Tag", "app"),
                ("Read_from_Head", "On"),
                ("Refresh_Interval", "1"),
                ("DB", "/state/app.db"),
                (TailInputOptions.PathRootKey, root.Root),
                .. extra,
            ]);

    private static List<int> Sequences(TailHarness harness) => harness.Events.Select(e => AppendWriter.SequenceOf(e.Json)).ToList();

    [Fact]
    public async Task RestartAfterAcknowledgedChunks_ResumesExactlyAfterThem()
    {
        using var root = new TempNodeRoot();
        Directory.CreateDirectory(root["/var/log/app"]);
        using var writer = new AppendWriter(root[AppLog]);
        writer.WriteLines(1_000);

        await using (var first = TailHarness.Start(Section(root)))
        {
            await first.WaitForCount(1_000);
            await TailHarness.WaitUntil(() => first.Input.Tracker.PendingChunks == 0, "all chunks acknowledged");
            Assert.Equal(Enumerable.Range(1, 1_000), Sequences(first));
        }

        using (var store = TailOffsetStore.Open(root["/state/app.db"], OffsetSyncMode.Full, NullLogger.Instance))
        {
            var entry = Assert.Single(store.Snapshot());
            Assert.Equal(new FileInfo(root[AppLog]).Length, entry.Offset);
            Assert.Equal(AppLog, entry.Name);
        }

        writer.WriteLines(500);
        await using var second = TailHarness.Start(Section(root));
        await second.WaitForCount(500);
        await Task.Delay(300);
        Assert.Equal(Enumerable.Range(1_001, 500), Sequences(second));
    }

    [Fact]
    public async Task UnacknowledgedChunks_AreReadAgainAfterRestart_AndOnlyThey()
    {
        using var root = new TempNodeRoot();
        Directory.CreateDirectory(root["/var/log/app"]);
        using var writer = new AppendWriter(root[AppLog]);
        writer.WriteLines(1_000);

        await using (var first = TailHarness.Start(Section(root)))
        {
            await first.WaitForCount(1_000);
            await TailHarness.WaitUntil(() => first.Input.Tracker.PendingChunks == 0, "the first 1000 lines acknowledged");

            // The aggregator stops acknowledging: these chunks are delivered but never confirmed (crash).
            first.AutoAcknowledge = false;
            writer.WriteLines(700);
            await first.WaitForCount(1_700);
            Assert.True(first.Input.UnacknowledgedBytes > 0);
        }

        await using var second = TailHarness.Start(Section(root));
        await second.WaitForCount(700);
        await Task.Delay(300);
        Assert.Equal(Enumerable.Range(1_001, 700), Sequences(second));
    }

    [Fact]
    public async Task HeldMultilineGroup_IsNotCommitted_SoARestartReadsItAgain()
    {
        using var root = new TempNodeRoot();
        const string complete = "2026-11-24T08:19:53.000000001Z stdout F complete\n";
        var path = root.Write("/var/log/containers/a.log", complete + "2026-11-24T08:19:53.000000002Z stdout P first half, \n");
        var section = Sections.Tail(
            ("Path", "/var/log/containers/*.log"),
            ("Tag", "c.*"),
            ("multiline.parser", "cri"),
            ("Read_from_Head", "On"),
            ("DB", "/state/c.db"),
            (TailInputOptions.PathRootKey, root.Root));

        await using (var first = TailHarness.Start(section))
        {
            await first.WaitForCount(1);
            await TailHarness.WaitUntil(() => first.Input.Tracker.PendingChunks == 0, "acknowledged");
            Assert.Equal(complete.Length, first.Input.Tracker.CommittedOffset(first.Input.Tracker.KnownFiles().Single()));
        }

        File.AppendAllText(path, "2026-11-24T08:19:53.000000003Z stdout F second half\n");
        await using var second = TailHarness.Start(section);
        await second.WaitForCount(1);
        await Task.Delay(300);
        var joined = Assert.Single(second.Events);
        Assert.Equal("""{"time":"2026-11-24T08:19:53.000000002Z","stream":"stdout","_p":"P","log":"first half, second half"}""", joined.Json);
    }

    [Fact]
    public async Task MemBufLimit_PausesReadingUntilAcknowledged_AndDropsNothing()
    {
        const int total = 20_000;
        using var root = new TempNodeRoot();
        Directory.CreateDirectory(root["/var/log/app"]);
        using (var writer = new AppendWriter(root[AppLog]))
        {
            writer.WriteLines(total);
        }

        await using var harness = TailHarness.Start(Section(root, ("Mem_Buf_Limit", "64k")), acknowledge: false);
        await TailHarness.WaitUntil(
            () => harness.Input.IsPaused && harness.Count == harness.Input.Stats.RecordsOut,
            "reading to pause on Mem_Buf_Limit and the consumer to take what was produced");
        var whilePaused = harness.Input.Stats.RecordsOut;
        await Task.Delay(500);

        Assert.Equal(whilePaused, harness.Input.Stats.RecordsOut);
        Assert.Equal(whilePaused, harness.Count);
        Assert.InRange(harness.Count, 1, total - 1);
        Assert.InRange(harness.Input.UnacknowledgedBytes, 64 * 1024, (64 * 1024) + (2 * 512 * 1024));
        Assert.True(harness.Input.Stats.Pauses >= 1);

        harness.AutoAcknowledge = true;
        harness.AcknowledgeHeld();
        await harness.WaitForCount(total);
        Assert.Equal(Enumerable.Range(1, total), Sequences(harness));
    }

    [Fact]
    public async Task StoredOffsetPastTheEnd_ReadsFromTheStart_AndOffsetsOfVanishedFilesAreForgotten()
    {
        using var root = new TempNodeRoot();
        var path = root.Write(AppLog, "a\nb\n");
        Assert.True(NativeFileStatus.TryGet(path, out var status));
        var vanished = new FileIdentity(status.Identity.Device, status.Identity.Inode + 1_000_000);
        using (var store = TailOffsetStore.Open(root["/state/app.db"], OffsetSyncMode.Full, NullLogger.Instance))
        {
            store.Set(status.Identity, 1_000, AppLog); // e.g. truncated while the shipper was down
            store.Set(vanished, 5, "/var/log/app/gone.log");
        }

        await using (var harness = TailHarness.Start(Section(root)))
        {
            await harness.WaitForCount(2);
            await TailHarness.WaitUntil(() => harness.Input.Tracker.PendingChunks == 0, "acknowledged");
            Assert.Equal(["""{"log":"a"}""", """{"log":"b"}"""], harness.Events.Select(e => e.Json));
        }

        using var reopened = TailOffsetStore.Open(root["/state/app.db"], OffsetSyncMode.Full, NullLogger.Instance);
        var entry = Assert.Single(reopened.Snapshot());
        Assert.Equal(new TailOffsetEntry(status.Identity, 4, AppLog), entry);
    }
}
