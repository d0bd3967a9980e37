using Gateway.Aggregator.Inputs.Forward;
using Gateway.Engine.Config;
using Gateway.Protos.Forward;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

public sealed class ForwardInputOptionsTests
{
    private static ConfigSection Section(params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry> { new("Name", "forward", new ConfigLocation("fluent-bit.conf", 10)) };
        var line = 11;
        foreach (var (key, value) in entries)
        {
            list.Add(new ConfigEntry(key, value, new ConfigLocation("fluent-bit.conf", line++)));
        }

        return new ConfigSection(SectionKind.Input, "INPUT", new ConfigLocation("fluent-bit.conf", 9), list);
    }

    [Fact]
    public void Defaults_follow_fluent_bit_in_forward()
    {
        var options = ForwardInputOptions.FromSection(Section());
        Assert.Equal("0.0.0.0", options.Listen);
        Assert.Equal(24224, options.Port);
        Assert.Equal(1_024_000, options.BufferChunkSize);
        Assert.Equal(6_144_000, options.BufferMaxSize);
        Assert.Equal("localhost", options.SelfHostname);
        Assert.False(options.SecurityEnabled);
        Assert.Null(options.Tls);
        Assert.Null(options.UnixPath);
        Assert.Empty(options.Users);
        Assert.Equal(TimeSpan.FromSeconds(30), options.HandshakeTimeout);
    }

    [Fact]
    public void Handshake_timeout_is_net_io_timeout()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), ForwardInputOptions.FromSection(Section(("net.io_timeout", "5s"))).HandshakeTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), ForwardInputOptions.FromSection(Section(("net.io_timeout", "0"))).HandshakeTimeout);
    }

    [Fact]
    public void All_keys_are_read_case_insensitively()
    {
        var options = ForwardInputOptions.FromSection(Section(
            ("listen", "127.0.0.1"),
            ("PORT", "24230"),
            ("Tag_Prefix", "fw."),
            ("Tag", "fixed"),
            ("Buffer_Chunk_Size", "512K"),
            ("Buffer_Max_Size", "8M"),
            ("Buffer_Max_Decompressed_Size", "32MB"),
            ("Shared_Key", "secret"),
            ("Self_Hostname", "aggregator-0"),
            ("Security.Users", "alice wonderland"),
            ("security.users", "bob builder carol singer"),
            ("Alias", "fw_in")));
        Assert.Equal("127.0.0.1", options.Listen);
        Assert.Equal(24230, options.Port);
        Assert.Equal("fw.", options.TagPrefix);
        Assert.Equal("fixed", options.Tag);
        Assert.Equal(512_000, options.BufferChunkSize);
        Assert.Equal(8_000_000, options.BufferMaxSize);
        Assert.Equal(32_000_000, options.MaxDecompressedSize);
        Assert.Equal("secret", options.SharedKey);
        Assert.Equal("aggregator-0", options.SelfHostname);
        Assert.Equal([new ForwardUser("alice", "wonderland"), new ForwardUser("bob", "builder"), new ForwardUser("carol", "singer")], options.Users);
        Assert.Equal("fw_in", options.Name);
        Assert.Equal(8_000_000, options.DecoderLimits.MaxMessageBytes);
    }

    [Theory]
    [InlineData("6144000", 6_144_000)]
    [InlineData("64k", 64_000)]
    [InlineData("2MB", 2_000_000)]
    [InlineData("1G", 1_000_000_000)]
    public void Sizes_use_fluent_bit_units(string text, long expected)
    {
        Assert.Equal(expected, ForwardInputOptions.FromSection(Section(("Buffer_Max_Size", text))).BufferMaxSize);
    }

    [Fact]
    public void Unix_socket_and_permissions()
    {
        var options = ForwardInputOptions.FromSection(Section(("Unix_Path", "/var/run/fluent.sock"), ("Unix_Perm", "0644")));
        Assert.Equal("/var/run/fluent.sock", options.UnixPath);
        Assert.Equal((UnixFileMode)Convert.ToInt32("644", 8), options.UnixPermissions);
    }

    [Fact]
    public void Empty_shared_key_enables_the_handshake_with_an_empty_key()
    {
        var options = ForwardInputOptions.FromSection(Section(("Empty_Shared_Key", "on")));
        Assert.True(options.SecurityEnabled);
        Assert.Equal(string.Empty, options.SharedKey);
    }

    [Theory]
    [InlineData("Port", "http", "Port: 'http' is not a TCP port")]
    [InlineData("Port", "70000", "Port: '70000'")]
    [InlineData("Listen", "my-host", "Listen: 'my-host' is not an IP address")]
    [InlineData("Buffer_Max_Size", "lots", "Buffer_Max_Size: 'lots' is not a size")]
    [InlineData("Buffer_Max_Size", "3G", "Buffer_Max_Size: '3G' must be between 1 byte and 2G")]
    [InlineData("Buffer_Max_Size", "false", "Buffer_Max_Size: 'false' must be between 1 byte and 2G")]
    [InlineData("Buffer_Chunk_Size", "10XB", "Buffer_Chunk_Size: '10XB' is not a size")]
    [InlineData("Unix_Perm", "rwx", "Unix_Perm: 'rwx' is not an octal permission")]
    [InlineData("Empty_Shared_Key", "maybe", "Empty_Shared_Key: 'maybe' is not a boolean")]
    [InlineData("Security.Users", "alice", "Security.Users: 'alice' is not 'username password' pairs")]
    public void Bad_values_name_the_key_and_location(string key, string value, string message)
    {
        var ex = Assert.Throws<ConfigException>(() => ForwardInputOptions.FromSection(Section((key, value))));
        Assert.Equal("fluent-bit.conf:11", ex.Location.ToString());
        Assert.Contains(message, ex.Reason, StringComparison.Ordinal);
        Assert.StartsWith("fluent-bit.conf:11: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Users_without_a_shared_key_are_refused_like_fluent_bit()
    {
        var ex = Assert.Throws<ConfigException>(() => ForwardInputOptions.FromSection(Section(("Security.Users", "alice pw"))));
        Assert.Contains("neither Shared_Key nor Empty_Shared_Key", ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Tls_needs_existing_certificate_and_key_files()
    {
        var ex = Assert.Throws<ConfigException>(() => ForwardInputOptions.FromSection(Section(("tls", "on"))));
        Assert.Contains("tls.crt_file and tls.key_file", ex.Reason, StringComparison.Ordinal);

        Assert.False(ForwardInputOptions.TryFromSection(Section(("tls", "on"), ("tls.crt_file", "/nonexistent/a.crt"), ("tls.key_file", "/nonexistent/a.key")), out _, out var diagnostics));
        Assert.Equal(2, diagnostics.Count);
        Assert.All(diagnostics, d => Assert.Contains("does not exist", d.Message, StringComparison.Ordinal));
        ex = Assert.Throws<ConfigException>(() => ForwardInputOptions.FromSection(Section(("tls", "on"), ("tls.crt_file", "/nonexistent/a.crt"), ("tls.key_file", "/nonexistent/a.key"))));
        Assert.Contains("and 1 more problem", ex.Reason, StringComparison.Ordinal);

        var crt = Path.GetTempFileName();
        var key = Path.GetTempFileName();
        try
        {
            var options = ForwardInputOptions.FromSection(Section(("tls", "on"), ("tls.verify", "off"), ("tls.crt_file", crt), ("tls.key_file", key)));
            Assert.Equal(new ForwardTlsOptions(crt, key, null, false, null), options.Tls);
        }
        finally
        {
            File.Delete(crt);
            File.Delete(key);
        }
    }

    [Fact]
    public void Several_problems_are_reported_together()
    {
        var ok = ForwardInputOptions.TryFromSection(Section(("Port", "x"), ("Buffer_Max_Size", "y")), out var options, out var diagnostics);
        Assert.False(ok);
        Assert.Null(options);
        Assert.Equal(["fluent-bit.conf:11", "fluent-bit.conf:12"], diagnostics.Select(d => d.Location.ToString()));
    }
}
