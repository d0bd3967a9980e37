using Gateway.Engine.Config;
using Gateway.Shipper.Inputs.Systemd;
using Gateway.Shipper.Pipeline;

namespace Gateway.Shipper.Tests.Systemd;

/// <summary>How the input runs journalctl: restarts after an exit, resumes after the last cursor, survives bad lines.</summary>
public sealed class SystemdProcessTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gw-fake-journalctl-" + Guid.NewGuid().ToString("N"));

    public SystemdProcessTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Journalctl_that_exits_is_started_again_after_the_last_cursor_handed_out()
    {
        // Each run records its arguments, prints a bad line and one entry, then exits.
        var script = Path.Combine(_dir, "journalctl");
        var argsLog = Path.Combine(_dir, "args.log");
        File.WriteAllText(script, $$"""
            #!/bin/sh
            echo "$@" >> '{{argsLog}}'
            n=$(wc -l < '{{argsLog}}')
            echo 'this is not json'
            printf '{"__CURSOR":"cursor-%s","__REALTIME_TIMESTAMP":"1700000000000000","_SYSTEMD_UNIT":"u.service","MESSAGE":"run %s"}\n' $n $n
            """);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
        }

        var input = new SystemdInput(
            new SystemdInputOptions { Path = "/nonexistent", Tag = "j.*" },
            new SystemdInputContext { JournalctlPath = script, RestartDelay = TimeSpan.FromMilliseconds(50) });
        await using var _ = input;
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => input.RunAsync(stop.Token));

        var chunks = new List<InputChunk<JournalCursorToken>>();
        while (chunks.Count < 3)
        {
            chunks.Add(await input.Chunks.ReadAsync().AsTask().WaitAsync(Bound));
        }

        await stop.CancelAsync();
        await run.WaitAsync(Bound);

        Assert.Equal("cursor-1", chunks[0].Token.Cursor);
        Assert.Equal("j.u.service", chunks[0].Chunk.Tag);
        var args = File.ReadAllLines(argsLog);
        Assert.DoesNotContain("--after-cursor", args[0], StringComparison.Ordinal);
        Assert.Contains("--after-cursor=cursor-1", args[1], StringComparison.Ordinal);
        Assert.Contains("--after-cursor=cursor-2", args[2], StringComparison.Ordinal);
        Assert.True(input.Stats.EntriesDropped >= 3);
        Assert.True(input.Stats.JournalctlRestarts >= 2);
    }

    [Fact]
    public async Task Missing_journalctl_is_retried_without_crashing()
    {
        var input = new SystemdInput(
            new SystemdInputOptions(),
            new SystemdInputContext { JournalctlPath = Path.Combine(_dir, "no-such-journalctl"), RestartDelay = TimeSpan.FromMilliseconds(20) });
        await using var _ = input;
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => input.RunAsync(stop.Token));

        var deadline = DateTime.UtcNow + Bound;
        while (input.Stats.JournalctlRestarts < 2 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await stop.CancelAsync();
        await run.WaitAsync(Bound);
        Assert.True(input.Stats.JournalctlRestarts >= 2);
        Assert.False(await input.Chunks.WaitToReadAsync()); // completed, nothing produced
    }

    [Fact]
    public void A_db_that_is_not_a_cursor_db_is_a_config_error_at_the_db_line()
    {
        var db = Path.Combine(_dir, "systemd.db");
        File.WriteAllText(db, "SQLite format 3\0");
        var doc = ClassicConfigReader.Parse($"[INPUT]\n    Name systemd\n    DB {db}\n", "test.conf", new Dictionary<string, string?>());
        var diagnostics = new List<ConfigDiagnostic>();

        var input = SystemdInput.FromSection(doc.Sections[0], new SystemdInputContext(), diagnostics);

        Assert.Null(input);
        var error = Assert.Single(diagnostics);
        Assert.Equal(3, error.Location.Line);
        Assert.Contains("not a systemd cursor DB", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cursor_db_survives_reopen_and_ignores_a_leftover_temp_file()
    {
        var db = Path.Combine(_dir, "state", "systemd.db");
        var store = JournalCursorStore.Open(db, Gateway.Shipper.State.OffsetSyncMode.Full);
        Assert.Null(store.Cursor);
        store.Save("s=1;i=5");
        File.WriteAllText(db + ".tmp", "torn");

        Assert.Equal("s=1;i=5", JournalCursorStore.Open(db, Gateway.Shipper.State.OffsetSyncMode.Normal).Cursor);
    }
}
