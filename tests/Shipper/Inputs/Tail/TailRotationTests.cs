using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Tests.Support;

namespace Gateway.Shipper.Tests.Inputs.Tail;

/// <summary>
/// A writer appends numbered lines at full speed while the file is rotated by rename (writer keeps writing to the
/// old descriptor for a while), by copytruncate, and by rename with the rotated file deleted while still being
/// read. The consumer acknowledges everything and must see every line exactly once.
/// </summary>
public sealed class TailRotationTests
{
    private const string AppLog = "/var/log/app/app.log";

    [Fact]
    public async Task TwoHundredThousandLines_ThroughRenameCopytruncateAndDelete_NoneLostNoneRepeated()
    {
        const int total = 200_000;
        using var root = new TempNodeRoot();
        Directory.CreateDirectory(root["/var/log/app"]);
        var section = Sections.Tail(
            ("Path", "/var/log/app/*.log"),
            ("Tag", "app.*"),
            ("Read_from_Head", "On"),
            ("Refresh_Interval", "1"),
            ("Rotate_Wait", "2"),
            ("DB", "/state/app.db"),
            (TailInputOptions.PathRootKey, root.Root));

        var writer = new AppendWriter(root[AppLog]);
        await using var harness = TailHarness.Start(section);
        await TailHarness.WaitUntil(() => harness.Input.Stats.FilesOpened >= 1, "the tail to open app.log");

        await Task.Run(async () =>
        {
            writer.WriteLines(50_000);

            // 1. logrotate "create": rename, the app keeps writing to the old descriptor, then reopens the path.
            File.Move(root[AppLog], root["/var/log/app/app.log.1"]);
            writer.WriteLines(2_000);
            writer.Reopen(root[AppLog]);
            writer.WriteLines(48_000);

            // 2. copytruncate. Lines written between the copy and the truncate are lost by design of
            // copytruncate, and a file that regrows past the old offset before the next check cannot be told
            // from one that only grew; so (like an operator would check) the truncate happens once the tail has
            // caught up, and writing resumes once it saw the truncation.
            await harness.WaitForCount(writer.Written, seconds: 120);
            File.Copy(root[AppLog], root["/var/log/app/app.log.2"]);
            using (var truncate = new FileStream(root[AppLog], FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
            {
                truncate.SetLength(0);
            }

            await TailHarness.WaitUntil(() => harness.Input.Stats.Truncations >= 1, "the truncation to be seen");
            writer.WriteLines(50_000);

            // 3. rename again, keep writing to the old descriptor, and delete the rotated file while the tail is
            // (most likely) still draining it through its open handle.
            File.Move(root[AppLog], root["/var/log/app/app.log.3"]);
            writer.WriteLines(5_000);
            File.Delete(root["/var/log/app/app.log.3"]);
            writer.WriteLines(1_000);
            writer.Reopen(root[AppLog]);
            writer.WriteLines(total - writer.Written);
        });
        writer.Dispose();

        await harness.WaitForCount(total, seconds: 180);
        await TailHarness.WaitUntil(() => harness.Input.Stats.FilesClosed >= 2, "both renamed files to be released");
        await Task.Delay(500); // anything repeated would show up now

        var seen = new int[total + 1];
        foreach (var e in harness.Events)
        {
            Assert.Equal("app.var.log.app.app.log", e.Tag);
            seen[AppendWriter.SequenceOf(e.Json)]++;
        }

        var lost = Enumerable.Range(1, total).Where(s => seen[s] == 0).ToList();
        var repeated = Enumerable.Range(1, total).Where(s => seen[s] > 1).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} lines lost, first {string.Join(",", lost.Take(10))}");
        Assert.True(repeated.Count == 0, $"{repeated.Count} lines repeated, first {string.Join(",", repeated.Take(10))}");
        Assert.Equal(total, harness.Count);
        Assert.Equal(1, harness.Input.Stats.Truncations);
        Assert.True(harness.Input.Stats.Rotations >= 2);

        // Records keep Fluent Bit's raw layout: {"log": line}.
        Assert.Equal($$"""{"log":"{{AppendWriter.Line(1)}}"}""", harness.Events.First(e => AppendWriter.SequenceOf(e.Json) == 1).Json);
    }
}
