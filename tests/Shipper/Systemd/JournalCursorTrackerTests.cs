using Gateway.Shipper.Inputs.Systemd;
using Gateway.Shipper.State;

namespace Gateway.Shipper.Tests.Systemd;

public sealed class JournalCursorTrackerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gw-cursor-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Only_the_acknowledged_prefix_reaches_the_db_and_bytes_are_freed_per_chunk()
    {
        var store = JournalCursorStore.Open(Path.Combine(_dir, "c.db"), OffsetSyncMode.Normal);
        var tracker = new JournalCursorTracker(store);
        var a = tracker.Register("c1", 10);
        var b = tracker.Register("c2", 20);
        var c = tracker.Register("c3", 30);

        tracker.Acknowledge(b);
        Assert.Null(store.Cursor);
        Assert.Equal(40, tracker.UnackedBytes);

        tracker.Acknowledge(a);
        Assert.Equal("c2", store.Cursor);
        tracker.Acknowledge(a); // twice is harmless
        Assert.Equal(30, tracker.UnackedBytes);

        tracker.Acknowledge(c);
        Assert.Equal("c3", JournalCursorStore.Open(Path.Combine(_dir, "c.db"), OffsetSyncMode.Normal).Cursor);
        Assert.Equal(0, tracker.UnackedBytes);
        Assert.Equal(0, tracker.PendingCount);
    }

    [Fact]
    public void A_chunk_without_cursor_does_not_overwrite_the_stored_one()
    {
        var store = JournalCursorStore.Open(Path.Combine(_dir, "c.db"), OffsetSyncMode.Normal);
        var tracker = new JournalCursorTracker(store);
        tracker.Acknowledge(tracker.Register("c1", 1));
        tracker.Acknowledge(tracker.Register(string.Empty, 1));

        Assert.Equal("c1", store.Cursor);
        Assert.Equal("c1", tracker.CommittedCursor);
    }
}
