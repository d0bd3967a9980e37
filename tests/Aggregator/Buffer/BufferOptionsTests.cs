using Gateway.Aggregator.Buffer;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Tests.Buffer;

public sealed class BufferOptionsTests
{
    private static ConfigSection Service(params (string Key, string Value)[] entries) =>
        new(SectionKind.Service, "SERVICE", new("svc.conf", 1), entries.Select((e, i) => new ConfigEntry(e.Key, e.Value, new("svc.conf", i + 2))).ToList());

    [Fact]
    public void Defaults_without_a_service_section_are_memory_only()
    {
        var o = BufferOptions.FromService(null);
        Assert.Null(o.StoragePath);
        Assert.Equal(StorageType.Memory, o.DefaultStorageType);
        Assert.Equal(StorageSync.Normal, o.Sync);
        Assert.False(o.Checksum);
        Assert.Equal(128, o.MaxChunksUp);
        Assert.Equal(5_000_000, o.BacklogMemLimitBytes);
        Assert.Equal(TimeSpan.FromSeconds(5), o.Grace);
        Assert.Equal(TimeSpan.FromSeconds(5), o.SchedulerBase);
        Assert.Equal(TimeSpan.FromSeconds(2000), o.SchedulerCap);
        Assert.Null(o.EffectiveRejectedPath);
    }

    [Fact]
    public void Seed_config_style_service_section_is_read()
    {
        var o = BufferOptions.FromService(Service(
            ("storage.path", "/var/fluent-bit/state/flb-storage/"),
            ("storage.sync", "Full"),
            ("storage.checksum", "On"),
            ("storage.max_chunks_up", "64"),
            ("storage.backlog.mem_limit", "5M"),
            ("storage.total_limit_size", "1G"),
            ("Grace", "30"),
            ("scheduler.base", "3"),
            ("scheduler.cap", "60")));

        Assert.Equal("/var/fluent-bit/state/flb-storage/", o.StoragePath);
        Assert.Equal(StorageType.Filesystem, o.DefaultStorageType);
        Assert.Equal(StorageSync.Full, o.Sync);
        Assert.True(o.Checksum);
        Assert.Equal(64, o.MaxChunksUp);
        Assert.Equal(64 * BufferOptions.NominalChunkBytes, o.ChunkMemoryLimitBytes);
        Assert.Equal(5_000_000, o.BacklogMemLimitBytes);
        Assert.Equal(1_000_000_000L, o.TotalLimitBytes);
        Assert.Equal(TimeSpan.FromSeconds(30), o.Grace);
        Assert.Equal(TimeSpan.FromSeconds(3), o.SchedulerBase);
        Assert.Equal(TimeSpan.FromSeconds(60), o.SchedulerCap);

        // Rejected chunks are kept under the storage path unless switched off.
        Assert.Equal(Path.Combine("/var/fluent-bit/state/flb-storage/", "rejected"), o.EffectiveRejectedPath);
        var off = BufferOptions.FromService(Service(("storage.path", "/s"), ("storage.keep.rejected", "off")));
        Assert.Null(off.EffectiveRejectedPath);
        var elsewhere = BufferOptions.FromService(Service(("storage.rejected.path", "/dlq")));
        Assert.Equal("/dlq", elsewhere.EffectiveRejectedPath);
    }

    [Theory]
    [InlineData("storage.sync", "sometimes", "storage.sync 'sometimes' is not 'normal' or 'full'")]
    [InlineData("storage.checksum", "maybe", "storage.checksum 'maybe' is not on/off")]
    [InlineData("storage.max_chunks_up", "lots", "storage.max_chunks_up 'lots' is not an integer")]
    [InlineData("storage.max_chunks_up", "0", "storage.max_chunks_up 0 is outside")]
    [InlineData("storage.backlog.mem_limit", "5X", "storage.backlog.mem_limit '5X' is not a size")]
    [InlineData("Grace", "-1", "Grace -1 is outside")]
    public void Bad_values_name_the_key_value_and_file_line(string key, string value, string message)
    {
        var ex = Assert.Throws<ConfigException>(() => BufferOptions.FromService(Service(("storage.path", "/s"), (key, value))));
        Assert.Equal(new ConfigLocation("svc.conf", 3), ex.Location);
        Assert.StartsWith("svc.conf:3: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("512", 512)]
    [InlineData("512K", 512 * 1000)]
    [InlineData("512KB", 512 * 1000)]
    [InlineData("5M", 5 * 1000 * 1000)]
    [InlineData("5mb", 5 * 1000 * 1000)]
    [InlineData("50MB", 50 * 1000 * 1000)]
    [InlineData("2G", 2L * 1000 * 1000 * 1000)]
    public void Sizes_use_fluent_bit_decimal_suffixes(string text, long bytes)
    {
        Assert.Equal(bytes, ConfigValues.ParseSize(text));
    }

    [Fact]
    public void Input_storage_type_defaults_to_filesystem_when_a_path_is_set_and_reads_mem_buf_limit()
    {
        var withPath = BufferOptions.FromService(Service(("storage.path", "/s")));
        ConfigSection Input(params (string, string)[] e) =>
            new(SectionKind.Input, "INPUT", new("in.conf", 1), e.Select((x, i) => new ConfigEntry(x.Item1, x.Item2, new("in.conf", i + 2))).ToList());

        var plain = InputStorageOptions.FromInput(Input(("Name", "forward"), ("Mem_Buf_Limit", "5MB")), withPath);
        Assert.Equal(StorageType.Filesystem, plain.StorageType);
        Assert.Equal(5_000_000, plain.MemBufLimitBytes);

        var memory = InputStorageOptions.FromInput(Input(("storage.type", "memory")), withPath);
        Assert.Equal(StorageType.Memory, memory.StorageType);
        Assert.Null(memory.MemBufLimitBytes);

        var noPath = Assert.Throws<ConfigException>(() => InputStorageOptions.FromInput(Input(("Name", "x"), ("storage.type", "filesystem")), BufferOptions.FromService(null)));
        Assert.Equal(new ConfigLocation("in.conf", 3), noPath.Location);
        Assert.Contains("needs storage.path", noPath.Message, StringComparison.Ordinal);
    }
}
