using Gateway.Shipper.Inputs.Systemd;
using Gateway.Shipper.Tests.Fakes;

namespace Gateway.Shipper.Tests.Systemd;

/// <summary>
/// The systemd input against REAL journal files (written by systemd-journal-remote through make-journal.sh) read by
/// the real journalctl.
/// </summary>
public sealed class SystemdJournalTests : IDisposable
{
    private const long T0 = 1_700_000_000_000_000;
    private static readonly string[] DataplaneFilters = ["_SYSTEMD_UNIT=kubelet.service", "_SYSTEMD_UNIT=containerd.service"];
    private readonly JournalDirectory _journal = new();

    public void Dispose() => _journal.Dispose();

    [Fact]
    public async Task Filtered_units_arrive_once_in_order_with_unit_tags_and_docker_excluded()
    {
        _journal.Write(
        [
            JournalTestEntry.Unit(T0 + 1, "kubelet.service", "k1"),
            JournalTestEntry.Unit(T0 + 2, "docker.service", "d2"),
            JournalTestEntry.Unit(T0 + 3, "containerd.service", "c3"),
            JournalTestEntry.Unit(T0 + 4, "kubelet.service", "k4"),
            JournalTestEntry.Unit(T0 + 5, null, "no unit"),
        ]);
        await using var run = SystemdRun.Start(Options(), autoAck: true);
        await run.WaitForMessageAsync("k4");

        // Entries written while following arrive too; the last one doubles as a marker that everything before
        // it was delivered.
        _journal.Write(
        [
            JournalTestEntry.Unit(T0 + 6, "docker.service", "d6"),
            JournalTestEntry.Unit(T0 + 7, "containerd.service", "c7"),
            JournalTestEntry.Unit(T0 + 8, "kubelet.service", "k8"),
        ]);
        await run.WaitForMessageAsync("k8");
        await run.StopAsync();

        Assert.Equal(["k1", "c3", "k4", "c7", "k8"], run.Messages());
        foreach (var (tag, ev) in run.Events())
        {
            Assert.Equal("dataplane.systemd." + ev["_SYSTEMD_UNIT"], tag);
            Assert.False(ev.Has("__CURSOR"));
            Assert.False(ev.Has("__REALTIME_TIMESTAMP"));
            Assert.Equal("ip-10-0-1-23", ev["_HOSTNAME"]);
        }

        var first = run.Events()[0].Event;
        Assert.Equal(1_700_000_000u, first.Time.Seconds);
        Assert.Equal(1_000u, first.Time.Nanoseconds);
    }

    [Fact]
    public async Task Restart_after_ack_resumes_from_the_cursor_without_repeats_or_loss()
    {
        _journal.Write(
        [
            JournalTestEntry.Unit(T0 + 1, "kubelet.service", "a1"),
            JournalTestEntry.Unit(T0 + 2, "containerd.service", "a2"),
            JournalTestEntry.Unit(T0 + 3, "kubelet.service", "a3"),
        ]);
        var options = Options(db: true);
        await using (var first = SystemdRun.Start(options, autoAck: true))
        {
            await first.WaitForMessageAsync("a3");
            await first.StopAsync();
            Assert.Equal(["a1", "a2", "a3"], first.Messages());
            Assert.NotNull(first.Input.CommittedCursor);
        }

        // Written while the shipper is down.
        _journal.Write(
        [
            JournalTestEntry.Unit(T0 + 4, "kubelet.service", "b4"),
            JournalTestEntry.Unit(T0 + 5, "docker.service", "b5"),
            JournalTestEntry.Unit(T0 + 6, "containerd.service", "b6"),
        ]);
        await using var second = SystemdRun.Start(options, autoAck: true);
        await second.WaitForMessageAsync("b6");
        _journal.Write([JournalTestEntry.Unit(T0 + 7, "kubelet.service", "c7")]);
        await second.WaitForMessageAsync("c7");
        await second.StopAsync();

        Assert.Equal(["b4", "b6", "c7"], second.Messages());
    }

    [Fact]
    public async Task Unacknowledged_entries_are_read_again_after_restart()
    {
        _journal.Write(
        [
            JournalTestEntry.Unit(T0 + 1, "kubelet.service", "e1"),
            JournalTestEntry.Unit(T0 + 2, "kubelet.service", "e2"),
            JournalTestEntry.Unit(T0 + 3, "containerd.service", "e3"),
        ]);

        // One entry per chunk; only the first chunk is acknowledged before the shipper stops.
        var options = Options(db: true, maxEntries: 1);
        await using (var first = SystemdRun.Start(options, autoAck: false))
        {
            await first.WaitForMessageAsync("e3");
            await first.StopAsync();
            Assert.Equal(3, first.Chunks.Count);
            first.Chunks[0].Acknowledge();
        }

        await using var second = SystemdRun.Start(options, autoAck: true);
        await second.WaitForMessageAsync("e3");
        _journal.Write([JournalTestEntry.Unit(T0 + 4, "kubelet.service", "e4")]);
        await second.WaitForMessageAsync("e4");
        await second.StopAsync();

        Assert.Equal(["e2", "e3", "e4"], second.Messages());
    }

    [Fact]
    public async Task Acknowledgements_out_of_order_commit_only_the_acknowledged_prefix()
    {
        _journal.Write(
        [
            JournalTestEntry.Unit(T0 + 1, "kubelet.service", "o1"),
            JournalTestEntry.Unit(T0 + 2, "kubelet.service", "o2"),
            JournalTestEntry.Unit(T0 + 3, "kubelet.service", "o3"),
        ]);
        var options = Options(db: true, maxEntries: 1);
        await using (var first = SystemdRun.Start(options, autoAck: false))
        {
            await first.WaitForMessageAsync("o3");
            await first.StopAsync();
            first.Chunks[2].Acknowledge();
            first.Chunks[0].Acknowledge();
            Assert.Equal(first.Chunks[0].Token.Cursor, first.Input.CommittedCursor);
        }

        await using var second = SystemdRun.Start(options, autoAck: true);
        await second.WaitForMessageAsync("o3");
        await second.StopAsync();

        Assert.Equal(["o2", "o3"], second.Messages());
    }

    [Fact]
    public async Task Read_from_tail_skips_existing_entries_and_follows_new_ones()
    {
        _journal.Write([JournalTestEntry.Unit(T0 + 1, "kubelet.service", "old")]);
        await using var run = SystemdRun.Start(Options(readFromTail: true), autoAck: true);
        await run.WaitForStartAsync();

        // journalctl may need a moment to position at the tail; write until the new entry shows up.
        _journal.Write([JournalTestEntry.Unit(T0 + 2, "kubelet.service", "new")]);
        await run.WaitForMessageAsync("new");
        await run.StopAsync();

        Assert.Equal(["new"], run.Messages());
    }

    [Fact]
    public async Task And_filter_type_requires_every_field_to_match()
    {
        _journal.Write(
        [
            JournalTestEntry.Unit(T0 + 1, "kubelet.service", "k-info"),
            JournalTestEntry.Unit(T0 + 2, "kubelet.service", "k-err", ("PRIORITY", "3")),
            JournalTestEntry.Unit(T0 + 3, "containerd.service", "c-err", ("PRIORITY", "3")),
        ]);

        // PRIORITY is written twice for the error entries (6 from Unit(), then 3): an entry matches if any value does.
        var options = new SystemdInputOptions
        {
            Path = _journal.JournalPath,
            Tag = "host.*",
            Filters = ["_SYSTEMD_UNIT=kubelet.service", "PRIORITY=3"],
            FilterType = SystemdFilterType.And,
        };
        await using var run = SystemdRun.Start(options, autoAck: true);
        await run.WaitForMessageAsync("k-err");
        _journal.Write([JournalTestEntry.Unit(T0 + 4, "kubelet.service", "k-err-2", ("PRIORITY", "3"))]);
        await run.WaitForMessageAsync("k-err-2");
        await run.StopAsync();

        Assert.Equal(["k-err", "k-err-2"], run.Messages());
        Assert.Equal("host.kubelet.service", run.Events()[0].Tag);
        Assert.Equal(new List<object?> { "6", "3" }, run.Events()[0].Event["PRIORITY"]);
    }

    [Fact]
    public async Task Without_tag_the_instance_name_is_the_tag_and_entries_without_unit_are_kept()
    {
        _journal.Write([JournalTestEntry.Unit(T0 + 1, null, "kernel says hi")]);
        var options = new SystemdInputOptions { Path = _journal.JournalPath };
        await using var run = SystemdRun.Start(options, autoAck: true);
        await run.WaitForMessageAsync("kernel says hi");
        await run.StopAsync();

        Assert.Equal("systemd.0", run.Events()[0].Tag);
    }

    [Fact]
    public async Task Mem_buf_limit_pauses_reading_until_acknowledgements_free_room()
    {
        _journal.Write([JournalTestEntry.Unit(T0 + 1, "kubelet.service", "m1")]);
        var options = new SystemdInputOptions
        {
            Path = _journal.JournalPath,
            Filters = DataplaneFilters,
            MemBufLimit = 1,
        };
        await using var run = SystemdRun.Start(options, autoAck: false);
        await run.WaitForMessageAsync("m1");
        await run.WaitUntilAsync(() => run.Input.IsPaused, "the input pauses at Mem_Buf_Limit");

        _journal.Write([JournalTestEntry.Unit(T0 + 2, "kubelet.service", "m2")]);
        Assert.True(run.Input.IsPaused);
        Assert.Equal(1, run.Input.Stats.ChunksOut);

        foreach (var chunk in run.Chunks)
        {
            chunk.Acknowledge();
        }

        await run.WaitForMessageAsync("m2");
        await run.StopAsync();
        Assert.Equal(["m1", "m2"], run.Messages());
        Assert.True(run.Input.Stats.Pauses >= 1);
    }

    private SystemdInputOptions Options(bool db = false, int maxEntries = SystemdInputOptions.DefaultMaxEntries, bool readFromTail = false) => new()
    {
        Path = _journal.JournalPath,
        Tag = "dataplane.systemd.*",
        Filters = DataplaneFilters,
        DbPath = db ? _journal.DbPath : null,
        MaxEntries = maxEntries,
        ReadFromTail = readFromTail,
    };
}
