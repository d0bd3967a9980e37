using Gateway.Engine.Config;

namespace Gateway.Engine.Tests.Config;

public sealed class ConfigValuesTests
{
    [Theory]
    [InlineData("on", true)]
    [InlineData("On", true)]
    [InlineData("TRUE", true)]
    [InlineData("yes", true)]
    [InlineData("off", false)]
    [InlineData("False", false)]
    [InlineData("NO", false)]
    public void Booleans_follow_flb_utils_bool(string text, bool expected) =>
        Assert.Equal(expected, ConfigValues.ParseBool(text));

    [Theory]
    [InlineData("1")]
    [InlineData("enabled")]
    [InlineData("")]
    public void Other_boolean_words_are_rejected(string text) => Assert.Null(ConfigValues.ParseBool(text));

    [Theory]
    [InlineData("1024", 1024L)]
    [InlineData("0", 0L)]
    [InlineData("5MB", 5_000_000L)]
    [InlineData("5M", 5_000_000L)]
    [InlineData("5mb", 5_000_000L)]
    [InlineData("50k", 50_000L)]
    [InlineData("50KB", 50_000L)]
    [InlineData("1G", 1_000_000_000L)]
    [InlineData("2gb", 2_000_000_000L)]
    [InlineData(" 32k ", 32_000L)]
    [InlineData("false", 0L)]
    public void Sizes_follow_flb_utils_size_to_bytes(string text, long expected) =>
        Assert.Equal(expected, ConfigValues.ParseSize(text));

    [Theory]
    [InlineData("")]
    [InlineData("MB")]
    [InlineData("5T")]
    [InlineData("5MX")]
    [InlineData("5KBB")]
    [InlineData("5.5M")]
    [InlineData("5 MB")]
    [InlineData("-1")]
    [InlineData("99999999999999G")]
    public void Bad_sizes_are_rejected(string text) => Assert.Null(ConfigValues.ParseSize(text));

    [Theory]
    [InlineData("5", 5.0)]
    [InlineData("0.5", 0.5)]
    [InlineData("30s", 30.0)]
    [InlineData("10m", 600.0)]
    [InlineData("2H", 7200.0)]
    [InlineData("1d", 86400.0)]
    public void Durations_are_seconds_with_optional_unit(string text, double seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), ConfigValues.ParseDuration(text));

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("-5")]
    [InlineData("5x")]
    [InlineData("five")]
    public void Bad_durations_are_rejected(string text) => Assert.Null(ConfigValues.ParseDuration(text));

    [Fact]
    public void Integers_parse_and_reject_text()
    {
        Assert.Equal(-42L, ConfigValues.ParseInteger(" -42 "));
        Assert.Null(ConfigValues.ParseInteger("4.2"));
        Assert.Null(ConfigValues.ParseInteger("x"));
    }

    [Fact]
    public void Getters_return_the_value_the_default_or_a_diagnostic_with_file_line_and_key()
    {
        var doc = ClassicConfigReader.Parse(
            "[INPUT]\n    Name tail\n    Skip_Long_Lines maybe\n    Mem_Buf_Limit 5MB\n    Refresh_Interval 10\n    Rotate_Wait 1x\n",
            "/cfg/in.conf",
            new Dictionary<string, string?>());
        var section = doc.Sections[0];
        var diagnostics = new List<ConfigDiagnostic>();

        Assert.True(ConfigValues.GetBool(section, "Skip_Long_Lines", true, diagnostics));
        Assert.False(ConfigValues.GetBool(section, "Read_from_Head", false, diagnostics));
        Assert.Equal(5_000_000L, ConfigValues.GetSize(section, "mem_buf_limit", 0, diagnostics));
        Assert.Equal(10L, ConfigValues.GetInteger(section, "Refresh_Interval", 60, diagnostics));
        Assert.Equal(TimeSpan.FromSeconds(5), ConfigValues.GetDuration(section, "Rotate_Wait", TimeSpan.FromSeconds(5), diagnostics));

        Assert.Equal(
            [
                "/cfg/in.conf:3: error: Skip_Long_Lines: 'maybe' is not a boolean (on/off, true/false, yes/no)",
                "/cfg/in.conf:6: error: Rotate_Wait: '1x' is not a duration in seconds, optionally with a unit (e.g. 5, 0.5, 30s, 10m, 2h, 1d)",
            ],
            diagnostics.Select(d => d.ToString()));
    }
}
