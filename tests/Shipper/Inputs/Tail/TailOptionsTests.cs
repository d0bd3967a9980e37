using System.Text.RegularExpressions;
using Gateway.Engine.Config;
using Gateway.Shipper.Container;
using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.State;
using Gateway.Shipper.Tests.Support;

namespace Gateway.Shipper.Tests.Inputs.Tail;

public sealed class TailOptionsTests
{
    [Fact]
    public void ApplicationLogSection_IsReadWithFluentBitUnitsAndDefaults()
    {
        var seed = SeedConfig.Load("container-insights/fluent-bit.conf");
        var section = seed.Document.OfKind(SectionKind.Input).Single(s => s.Get("Tag") == "application.*");
        var diagnostics = new List<ConfigDiagnostic>();

        var options = TailInputOptions.FromSection(section, diagnostics);

        Assert.NotNull(options);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal(["/var/log/containers/*.log"], options.Paths);
        Assert.Equal(5, options.ExcludePaths.Count);
        Assert.Equal("/var/log/containers/aws-node*", options.ExcludePaths[2]);
        Assert.Equal([ContainerMultilineParser.Docker, ContainerMultilineParser.Cri], options.MultilineParsers);
        Assert.Equal(50L * 1024 * 1024, options.MemBufLimit);
        Assert.True(options.SkipLongLines);
        Assert.True(options.ReadFromHead); // ${READ_FROM_HEAD} is On in the test environment
        Assert.Equal(TimeSpan.FromSeconds(10), options.RefreshInterval);
        Assert.Equal(TimeSpan.FromSeconds(30), options.RotateWait);
        Assert.Equal("/var/fluent-bit/state/flb_container.db", options.DbPath);
        Assert.Equal(OffsetSyncMode.Normal, options.DbSync);
        Assert.Equal(32 * 1024, options.BufferChunkSize);
        Assert.Equal("log", options.Key);
    }

    [Fact]
    public void BadValues_AreErrorsNamingKeyFileAndLine()
    {
        var section = Sections.Tail(("Path", "/x"), ("Read_from_Head", "maybe"), ("Mem_Buf_Limit", "lots"), ("multiline.parser", "docker, java"), ("Rotate_Wait", "${ROTATE}"));
        var diagnostics = new List<ConfigDiagnostic>();

        Assert.Null(TailInputOptions.FromSection(section, diagnostics));

        var errors = diagnostics.Where(d => d.Severity == DiagnosticSeverity.Error).Select(d => d.ToString()).ToList();
        Assert.Contains(errors, e => e.StartsWith("test.conf:3: error:", StringComparison.Ordinal) && e.Contains("Read_from_Head must be On or Off, got 'maybe'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("test.conf:4: error:", StringComparison.Ordinal) && e.Contains("Mem_Buf_Limit must be a size", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("test.conf:5: error:", StringComparison.Ordinal) && e.Contains("multiline.parser 'java' is not supported", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("test.conf:6: error:", StringComparison.Ordinal) && e.Contains("unexpanded variable", StringComparison.Ordinal));
    }

    [Fact]
    public void MissingPath_DockerModeWithMultiline_AndUnknownKeys_AreReported()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        Assert.Null(TailInputOptions.FromSection(Sections.Tail(("Docker_Mode", "On"), ("multiline.parser", "cri"), ("Refresh_Intervall", "5")), diagnostics));
        Assert.Contains(diagnostics, d => d.Severity == DiagnosticSeverity.Error && d.Message.Contains("needs 'Path'", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Severity == DiagnosticSeverity.Error && d.Message.Contains("Docker_Mode cannot be combined", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Severity == DiagnosticSeverity.Warning && d.Message.Contains("unknown tail option 'Refresh_Intervall'", StringComparison.Ordinal));
    }

    [Fact]
    public void EmptyValueFromUnsetVariable_FallsBackToTheDefaultWithAWarning()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var options = TailInputOptions.FromSection(Sections.Tail(("Path", "/x"), ("Read_from_Head", "")), diagnostics);
        Assert.NotNull(options);
        Assert.False(options.ReadFromHead);
        Assert.Contains(diagnostics, d => d.Severity == DiagnosticSeverity.Warning && d.Location.Line == 3);
    }

    [Theory]
    [InlineData("application.*", "/var/log/containers/x.log", "application.var.log.containers.x.log")]
    [InlineData("kube.*", "/var/log/containers/a_b_c-123.log", "kube.var.log.containers.a_b_c-123.log")]
    [InlineData("*", "/var/log/messages", "var.log.messages")]
    [InlineData("pre.*.post", "/a/b", "pre.a.b.post")]
    [InlineData("host.dmesg", "/var/log/dmesg", "host.dmesg")]
    [InlineData("c:*", "/x", "c.x")]
    public void Tag_StarIsTheFilePathWithSeparatorsAsDots(string tag, string path, string expected) =>
        Assert.Equal(expected, TailTagComposer.Compose(tag, null, path));

    [Fact]
    public void TagRegex_FillsNamedGroups_UnderscoreForMissing_NullWhenNoMatch()
    {
        var regex = new Regex(@"(?<pod_name>[a-z0-9-]+)_(?<namespace_name>[^_]+)_(?<container_name>.+)-(?<docker_id>[a-z0-9]{64})\.log$");
        var path = "/var/log/containers/nginx-5468c5d4d7-n2swr_default_nginx-b90a89309ac90fff2972822c66f11736933000c5aa6376dff0c11a441fa427ee.log";
        Assert.Equal("kube.default.nginx-5468c5d4d7-n2swr.nginx._", TailTagComposer.Compose("kube.<namespace_name>.<pod_name>.<container_name>.<missing>", regex, path));
        Assert.Null(TailTagComposer.Compose("kube.<pod_name>", regex, "/var/log/messages"));
    }

    [Theory]
    [InlineData("/var/log/containers/aws-node*", "/var/log/containers/aws-node-7x9kq_kube-system_x.log", true)]
    [InlineData("/var/log/containers/fluent-bit*", "/var/log/containers/aws-node-1.log", false)]
    [InlineData("*.gz", "/var/log/a/b.log.gz", true)]
    [InlineData("/var/log/[a-c]?.log", "/var/log/b1.log", true)]
    public void ExcludePath_IsFnmatchWhereStarCrossesSlashes(string pattern, string path, bool excluded) =>
        Assert.Equal(excluded, PathGlob.FnMatch(pattern, path));

    [Fact]
    public void PathGlob_ExpandsWildcardsInAnySegment_ButStarDoesNotCrossDirectories()
    {
        using var root = new TempNodeRoot();
        root.Write("/logs/a/x.log", "");
        root.Write("/logs/b/y.log", "");
        root.Write("/logs/b/deeper/z.log", "");
        root.Write("/logs/b/.hidden.log", "");

        Assert.Equal([root["/logs/a/x.log"], root["/logs/b/y.log"]], PathGlob.Expand(root["/logs/*/*.log"]));
        Assert.Equal([root["/logs/b/y.log"]], PathGlob.Expand(root["/logs/b/*.log"]));
        Assert.Equal(root["/logs"], PathGlob.StaticDirectory(root["/logs/*/*.log"]));
    }
}

public sealed class TailInputCreationTests
{
    [Fact]
    public async Task WithoutTag_TheInstanceNameIsTheTag()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        await using var input = TailInput.FromSection(Sections.Tail(("Path", "/nowhere/*.log")), new TailInputContext { Name = "tail.3" }, diagnostics);
        Assert.Equal("tail.3", input!.Options.Tag);
    }

    [Fact]
    public void UnwritableDb_IsADiagnosticAtTheDbLine_NotACrash()
    {
        using var root = new TempNodeRoot();
        File.WriteAllText(root["/file"], "a file where a directory is needed");
        var diagnostics = new List<ConfigDiagnostic>();

        var input = TailInput.FromSection(Sections.Tail(("Path", "/x"), ("DB", root["/file"] + "/sub/t.db")), new TailInputContext(), diagnostics);

        Assert.Null(input);
        var error = Assert.Single(diagnostics);
        Assert.Equal(3, error.Location.Line);
        Assert.Contains("cannot open the offsets DB", error.Message, StringComparison.Ordinal);
    }
}
