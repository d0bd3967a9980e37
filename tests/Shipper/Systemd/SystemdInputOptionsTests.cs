using Gateway.Engine.Config;
using Gateway.Shipper.Inputs.Systemd;
using Gateway.Shipper.State;
using Gateway.Shipper.Tests.Support;

namespace Gateway.Shipper.Tests.Systemd;

public sealed class SystemdInputOptionsTests
{
    [Fact]
    public void Seed_dataplane_systemd_section_parses()
    {
        var env = new Dictionary<string, string?> { ["READ_FROM_TAIL"] = "On", ["READ_FROM_HEAD"] = "Off", ["AWS_REGION"] = "us-east-1", ["CLUSTER_NAME"] = "c", ["HOST_NAME"] = "h" };
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("container-insights/dataplane-log.conf"), env);
        ConfigSection? section = null;
        foreach (var s in doc.OfKind(SectionKind.Input))
        {
            if (string.Equals(s.PluginName, "systemd", StringComparison.OrdinalIgnoreCase))
            {
                section = s;
            }
        }

        Assert.NotNull(section);
        var diagnostics = new List<ConfigDiagnostic>();
        var options = SystemdInputOptions.FromSection(section, diagnostics);

        Assert.Empty(diagnostics);
        Assert.NotNull(options);
        Assert.Equal("dataplane.systemd.*", options.Tag);
        Assert.Equal(["_SYSTEMD_UNIT=docker.service", "_SYSTEMD_UNIT=containerd.service", "_SYSTEMD_UNIT=kubelet.service"], options.Filters);
        Assert.Equal(SystemdFilterType.Or, options.FilterType);
        Assert.Equal("/var/fluent-bit/state/systemd.db", options.DbPath);
        Assert.Equal("/var/log/journal", options.Path);
        Assert.True(options.ReadFromTail);
        Assert.Equal(SystemdInputOptions.DefaultMaxEntries, options.MaxEntries);
    }

    [Fact]
    public void Bad_values_are_errors_naming_file_and_line()
    {
        var doc = ClassicConfigReader.Parse(
            "[INPUT]\n    Name systemd\n    Systemd_Filter kubelet.service\n    Systemd_Filter_Type Xor\n    Max_Entries -1\n    DB.Sync sometimes\n    Read_From_Tail maybe\n    Bogus 1\n",
            "test.conf",
            new Dictionary<string, string?>());
        var diagnostics = new List<ConfigDiagnostic>();

        var options = SystemdInputOptions.FromSection(doc.Sections[0], diagnostics);

        Assert.Null(options);
        Assert.Contains(diagnostics, d => d.Severity == DiagnosticSeverity.Error && d.Location.Line == 3 && d.Message.Contains("FIELD=VALUE", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Location.Line == 4 && d.Message.Contains("'And' or 'Or'", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Location.Line == 5 && d.Message.Contains("Max_Entries", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Location.Line == 6 && d.Message.Contains("DB.Sync", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Location.Line == 7 && d.Message.Contains("Read_From_Tail", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Severity == DiagnosticSeverity.Warning && d.Location.Line == 8);
    }

    [Fact]
    public void Or_filters_are_separate_journalctl_groups_and_and_filters_one_group()
    {
        var or = new SystemdInputOptions { Path = "/j", Filters = ["_SYSTEMD_UNIT=a.service", "_SYSTEMD_UNIT=b.service", "PRIORITY=3"] };
        var and = new SystemdInputOptions { Path = "/j", Filters = or.Filters, FilterType = SystemdFilterType.And, DbSync = OffsetSyncMode.Full };

        var orArgs = JournalctlArguments.Build(or, null);
        var andArgs = JournalctlArguments.Build(and, null);

        Assert.Equal(["_SYSTEMD_UNIT=a.service", "+", "_SYSTEMD_UNIT=b.service", "+", "PRIORITY=3"], orArgs[^5..]);
        Assert.Equal(["_SYSTEMD_UNIT=a.service", "_SYSTEMD_UNIT=b.service", "PRIORITY=3"], andArgs[^3..]);
        Assert.Contains("--directory=/j", orArgs);
        Assert.Contains("--no-tail", orArgs);
    }

    [Fact]
    public void Stored_cursor_wins_over_read_from_tail()
    {
        var options = new SystemdInputOptions { ReadFromTail = true };

        Assert.Contains("--lines=0", JournalctlArguments.Build(options, null));
        var resumed = JournalctlArguments.Build(options, "s=1;i=2");
        Assert.Contains("--after-cursor=s=1;i=2", resumed);
        Assert.DoesNotContain("--lines=0", resumed);
    }

    [Fact]
    public void Mem_buf_limit_uses_fluent_bit_sizes_and_rejects_nonsense()
    {
        var good = ClassicConfigReader.Parse("[INPUT]\n    Name systemd\n    Mem_Buf_Limit 50MB\n", "a.conf", new Dictionary<string, string?>());
        var bad = ClassicConfigReader.Parse("[INPUT]\n    Name systemd\n    Mem_Buf_Limit lots\n", "b.conf", new Dictionary<string, string?>());
        var diagnostics = new List<ConfigDiagnostic>();

        Assert.Equal(50_000_000, SystemdInputOptions.FromSection(good.Sections[0], diagnostics)!.MemBufLimit);
        Assert.Empty(diagnostics);
        Assert.Null(SystemdInputOptions.FromSection(bad.Sections[0], diagnostics));
        Assert.Contains(diagnostics, d => d.Location.Line == 3 && d.Message.Contains("Mem_Buf_Limit", StringComparison.Ordinal));
    }

    [Fact]
    public void Tag_star_is_the_unit_name()
    {
        Assert.Equal("dataplane.systemd.kubelet.service", SystemdInput.ComposeTag("dataplane.systemd.*", "kubelet.service"u8));
        Assert.Equal("host.unknown.x", SystemdInput.ComposeTag("host.*.x", "unknown"u8));
        Assert.Equal("fixed", SystemdInput.ComposeTag("fixed", "kubelet.service"u8));
    }
}
