using Gateway.Shipper.State;
using Gateway.Shipper.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Tests.State;

public sealed class OffsetStateTests
{
    private static readonly FileIdentity A = new(2049, 100);
    private static readonly FileIdentity B = new(2049, 200);

    [Fact]
    public void Store_SurvivesReopen_AndKeepsTheLastValuePerFile()
    {
        using var root = new TempNodeRoot();
        var path = root["/state/t.db"];
        using (var store = TailOffsetStore.Open(path, OffsetSyncMode.Full, NullLogger.Instance))
        {
            store.Set(A, 10, "/a");
            store.Set(A, 20, "/a");
            store.Set(B, 5, "/b");
            store.Remove(B);
        }

        using var reopened = TailOffsetStore.Open(path, OffsetSyncMode.Full, NullLogger.Instance);
        var entry = Assert.Single(reopened.Snapshot());
        Assert.Equal(new TailOffsetEntry(A, 20, "/a"), entry);
    }

    [Fact]
    public void Store_TornLastRecord_IsIgnored_EarlierOffsetsIntact()
    {
        using var root = new TempNodeRoot();
        var path = root["/state/t.db"];
        using (var store = TailOffsetStore.Open(path, OffsetSyncMode.Full, NullLogger.Instance))
        {
            store.Set(A, 10, "/a");
            store.Set(A, 99, "/a");
        }

        // A crash in the middle of the last append: cut the file inside the last record.
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);

        using (var reopened = TailOffsetStore.Open(path, OffsetSyncMode.Full, NullLogger.Instance))
        {
            Assert.True(reopened.TryGet(A, out var e));
            Assert.Equal(10, e.Offset);
        }

        // A flipped bit is caught by the checksum the same way.
        using (var store = TailOffsetStore.Open(path, OffsetSyncMode.Full, NullLogger.Instance))
        {
            store.Set(A, 30, "/a");
        }

        bytes = File.ReadAllBytes(path);
        bytes[^3] ^= 0x40;
        File.WriteAllBytes(path, bytes);
        using var again = TailOffsetStore.Open(path, OffsetSyncMode.Full, NullLogger.Instance);
        Assert.True(again.TryGet(A, out var last));
        Assert.Equal(10, last.Offset);
    }

    [Fact]
    public void Store_LeavesAForeignFileAlone_AndKeepsOffsetsBesideIt()
    {
        using var root = new TempNodeRoot();
        var sqlite = root.Write("/state/flb.db", "SQLite format 3\0 not really");
        using (var store = TailOffsetStore.Open(sqlite, OffsetSyncMode.Normal, NullLogger.Instance))
        {
            store.Set(A, 1, "/a");
            Assert.Equal(sqlite + ".gateway", store.Path);
        }

        Assert.Equal("SQLite format 3\0 not really", File.ReadAllText(sqlite));
    }

    [Fact]
    public void Store_CompactsOnOpen()
    {
        using var root = new TempNodeRoot();
        var path = root["/state/t.db"];
        using (var store = TailOffsetStore.Open(path, OffsetSyncMode.Off, NullLogger.Instance))
        {
            for (var i = 0; i < 1000; i++)
            {
                store.Set(A, i, "/a");
            }
        }

        var before = new FileInfo(path).Length;
        using var reopened = TailOffsetStore.Open(path, OffsetSyncMode.Off, NullLogger.Instance);
        Assert.True(new FileInfo(path).Length < before / 100, $"compacted {before} -> {new FileInfo(path).Length}");
        Assert.True(reopened.TryGet(A, out var e));
        Assert.Equal(999, e.Offset);
    }

    [Fact]
    public void Tracker_CommitsInProductionOrder_EvenWhenAcksArriveOutOfOrder()
    {
        using var root = new TempNodeRoot();
        using var store = TailOffsetStore.Open(root["/state/t.db"], OffsetSyncMode.Off, NullLogger.Instance);
        var tracker = new TailCommitTracker(store);
        var t1 = tracker.Register(A, "/a", 100, 10);
        var t2 = tracker.Register(A, "/a", 200, 10);
        var t3 = tracker.Register(A, "/a", 300, 10);
        Assert.Equal(30, tracker.UnackedBytes);

        tracker.Acknowledge(t2);
        Assert.Null(tracker.CommittedOffset(A));
        Assert.False(store.TryGet(A, out _));

        tracker.Acknowledge(t1);
        Assert.Equal(200, tracker.CommittedOffset(A));
        Assert.True(store.TryGet(A, out var e));
        Assert.Equal(200, e.Offset);

        tracker.Advance(A, "/a", 350); // skipped lines after t3: wait for t3
        Assert.Equal(200, tracker.CommittedOffset(A));
        tracker.Acknowledge(t3);
        tracker.Acknowledge(t3); // idempotent
        Assert.Equal(350, tracker.CommittedOffset(A));
        Assert.Equal(0, tracker.UnackedBytes);
    }

    [Fact]
    public void Tracker_ReleasedFile_LeavesTheDbOnceItsChunksAreAcknowledged()
    {
        using var root = new TempNodeRoot();
        using var store = TailOffsetStore.Open(root["/state/t.db"], OffsetSyncMode.Off, NullLogger.Instance);
        var tracker = new TailCommitTracker(store);
        tracker.Acknowledge(tracker.Register(A, "/a", 100, 1));
        var last = tracker.Register(A, "/a", 150, 1);
        tracker.Release(A);
        Assert.True(store.TryGet(A, out _));

        tracker.Acknowledge(last);
        Assert.False(store.TryGet(A, out _));
    }
}
