using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Tests.Support;

namespace Gateway.Shipper.Tests.Inputs.Tail;

/// <summary>Line handling: long lines, empty lines, CRLF, where reading starts, files appearing later.</summary>
public sealed class TailReadingTests
{
    private static Engine.Config.ConfigSection Section(TempNodeRoot root, params (string, string)[] extra) =>
        Sections.Tail(
            [
                ("Path", "/var/log/app/*.log"),
                ("Tag", "app"),
                ("Refresh_Interval", "1"),
                (TailInputOptions.PathRootKey, root.Root),
                .. extra,
            ]);

    [Fact]
    public async Task SkipLongLinesOn_DropsOnlyTheLongLine_AndCountsIt()
    {
        using var root = new TempNodeRoot();
        var longLine = new string('x', 100_000);
        root.Write("/var/log/app/a.log", $"before\n{longLine}\nafter\n");

        await using var harness = TailHarness.Start(Section(root, ("Read_from_Head", "On"), ("Skip_Long_Lines", "On"), ("Buffer_Chunk_Size", "8k"), ("Buffer_Max_Size", "16k")));
        await harness.WaitForCount(2);
        await Task.Delay(300);

        Assert.Equal(["""{"log":"before"}""", """{"log":"after"}"""], harness.Events.Select(e => e.Json));
        Assert.Equal(1, harness.Input.Stats.LongLinesSkipped);
    }

    [Fact]
    public async Task ChunksEndAtTheChunkSize_AndCarryEveryLineInOrder_WhileTheirBuffersAreReused()
    {
        // Mem_Buf_Limit 64k makes 16 KiB chunks: each 32 KiB read spans several chunks, and every chunk's pooled
        // buffer goes back to the input once the harness has decoded and acknowledged it.
        using var root = new TempNodeRoot();
        var lines = new string[5000];
        for (var i = 0; i < lines.Length; i++)
        {
            lines[i] = $"line {i:D5} " + new string((char)('a' + (i % 26)), 80);
        }

        root.Write("/var/log/app/a.log", string.Join('\n', lines) + "\n");

        await using var harness = TailHarness.Start(Section(root, ("Read_from_Head", "On"), ("Mem_Buf_Limit", "64k")));
        await harness.WaitForCount(lines.Length);

        Assert.Equal(lines.Select(l => $$"""{"log":"{{l}}"}"""), harness.Events.Select(e => e.Json));
        Assert.InRange(harness.LargestChunkBytes, 1, 16 * 1024); // a chunk never outgrows its 16 KiB buffer
        Assert.True(harness.Input.Stats.ChunksOut >= lines.Length * 100 / (16 * 1024), $"{harness.Input.Stats.ChunksOut} chunks");
    }

    [Fact]
    public async Task LinesUpToBufferMaxSize_AreKeptWhole()
    {
        using var root = new TempNodeRoot();
        var line = new string('y', 15_000);
        root.Write("/var/log/app/a.log", $"{line}\nnext\n");

        await using var harness = TailHarness.Start(Section(root, ("Read_from_Head", "On"), ("Buffer_Chunk_Size", "4k"), ("Buffer_Max_Size", "16k")));
        await harness.WaitForCount(2);

        Assert.Equal($$"""{"log":"{{line}}"}""", harness.Events[0].Json);
        Assert.Equal(0, harness.Input.Stats.LongLinesSkipped);
    }

    [Fact]
    public async Task SkipLongLinesOff_StopsFollowingTheFile_AfterTheLinesBeforeIt()
    {
        using var root = new TempNodeRoot();
        root.Write("/var/log/app/a.log", $"before\n{new string('x', 50_000)}\nafter\n");

        await using var harness = TailHarness.Start(Section(root, ("Read_from_Head", "On"), ("Buffer_Max_Size", "32k")));
        await harness.WaitForCount(1);
        await Task.Delay(500);

        Assert.Equal(["""{"log":"before"}"""], harness.Events.Select(e => e.Json));
    }

    [Fact]
    public async Task EmptyLinesAreRecordsUnlessSkipped_AndCrlfLosesItsCr()
    {
        using var root = new TempNodeRoot();
        root.Write("/var/log/app/a.log", "one\r\n\ntwo\n\r\n");

        await using (var keep = TailHarness.Start(Section(root, ("Read_from_Head", "On"))))
        {
            await keep.WaitForCount(4);

            // A lone CR is kept (Fluent Bit strips CR only from lines of two or more bytes).
            Assert.Equal(["""{"log":"one"}""", """{"log":""}""", """{"log":"two"}""", """{"log":"\r"}"""], keep.Events.Select(e => e.Json));
        }

        await using var skip = TailHarness.Start(Section(root, ("Read_from_Head", "On"), ("Skip_Empty_Lines", "On")));
        await skip.WaitForCount(2);
        await Task.Delay(300);
        Assert.Equal(["""{"log":"one"}""", """{"log":"two"}"""], skip.Events.Select(e => e.Json));
    }

    [Fact]
    public async Task WithoutReadFromHead_ExistingFilesStartAtTheEnd_ButFilesCreatedLaterFromTheHead()
    {
        using var root = new TempNodeRoot();
        var existing = root.Write("/var/log/app/old.log", "old 1\nold 2\n");

        await using var harness = TailHarness.Start(Section(root, ("Path_Key", "file")));
        await TailHarness.WaitUntil(() => harness.Input.Stats.FilesOpened >= 1, "old.log to be opened");
        File.AppendAllText(existing, "old 3\n");
        root.Write("/var/log/app/new.log", "new 1\n");
        await harness.WaitForCount(2);
        await Task.Delay(300);

        Assert.Equal(
            ["""{"file":"/var/log/app/new.log","log":"new 1"}""", """{"file":"/var/log/app/old.log","log":"old 3"}"""],
            harness.Events.Select(e => e.Json).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task PartialLastLine_WaitsForItsNewline()
    {
        using var root = new TempNodeRoot();
        var path = root.Write("/var/log/app/a.log", "complete\nhalf a li");

        await using var harness = TailHarness.Start(Section(root, ("Read_from_Head", "On")));
        await harness.WaitForCount(1);
        await Task.Delay(300);
        Assert.Equal(1, harness.Count);

        File.AppendAllText(path, "ne\n");
        await harness.WaitForCount(2);
        Assert.Equal("""{"log":"half a line"}""", harness.Events[1].Json);
    }
}

/// <summary>Kubernetes layout: /var/log/containers/*.log are symlinks to /var/log/pods/.../0.log, which the kubelet rotates.</summary>
public sealed class TailSymlinkTests
{
    [Fact]
    public async Task SymlinkedContainerLog_IsFollowedThroughKubeletRotation_TaggedByTheLinkPath()
    {
        using var root = new TempNodeRoot();
        var target = root.Write("/var/log/pods/default_web-1_uid/web/0.log", "{\"log\":\"first\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:00Z\"}\n");
        Directory.CreateDirectory(root["/var/log/containers"]);
        File.CreateSymbolicLink(root["/var/log/containers/web-1_default_web-abc.log"], target);
        var section = Sections.Tail(
            ("Path", "/var/log/containers/*.log"),
            ("Tag", "kube.*"),
            ("multiline.parser", "docker, cri"),
            ("Read_from_Head", "On"),
            ("Refresh_Interval", "1"),
            ("Rotate_Wait", "1"),
            (TailInputOptions.PathRootKey, root.Root));

        await using var harness = TailHarness.Start(section);
        await harness.WaitForCount(1);

        // kubelet rotation: rename 0.log away, start a new 0.log; the link now resolves to the new file.
        File.AppendAllText(target, "{\"log\":\"second\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:01Z\"}\n");
        File.Move(target, target + ".20260101-000001");
        File.WriteAllText(target, "{\"log\":\"third\\n\",\"stream\":\"stdout\",\"time\":\"2026-01-01T00:00:02Z\"}\n");
        await harness.WaitForCount(3);
        await Task.Delay(300);

        Assert.All(harness.Events, e => Assert.Equal("kube.var.log.containers.web-1_default_web-abc.log", e.Tag));
        Assert.Equal(
            ["first\n", "second\n", "third\n"],
            harness.Events.Select(e => System.Text.Json.JsonDocument.Parse(e.Json).RootElement.GetProperty("log").GetString()));
    }
}
