using Gateway.Aggregator.Outputs.S3;

namespace Gateway.Aggregator.Tests.Outputs.S3;

/// <summary>Key formatting, checked against Fluent Bit's own flb_get_s3_key test vectors (time 2020-08-15).</summary>
public sealed class S3KeyFormatTests
{
    private static readonly long Time = new DateTimeOffset(2020, 8, 15, 10, 20, 30, TimeSpan.Zero).ToUnixTimeSeconds();

    [Theory]
    [InlineData("logs/$TAG[2]/$TAG[0]/%Y/%m/%d", "aa.bb.ccc", ".", "logs/ccc/aa/2020/08/15")]
    [InlineData("logs/$TAG/%Y/%m/%d", "aa.bb.ccc", ".", "logs/aa.bb.ccc/2020/08/15")]
    [InlineData("logs/my.great_photos-2020:jan/$TAG/%Y/%m/%d", "aa.bb.ccc", ".", "logs/my.great_photos-2020:jan/aa.bb.ccc/2020/08/15")]
    [InlineData("logs/$TAG[2]/$TAG[0]/%Y/%m/%d", "aa.bb-ccc", ",/", "logs/aa.bb-ccc[2]/aa.bb-ccc/2020/08/15")]
    [InlineData("logs/$TAG[2]/$TAG[-1]/%Y/%m/%d", "aa.bb.ccc", ".", "logs/ccc/aa.bb.ccc[-1]/2020/08/15")]
    [InlineData("logs/$TAG[1]/$TAG[2]", "aa.bb-ccc", ".-", "logs/bb/ccc")]
    [InlineData("logs/%Y/m/%m/d/%d/%q", "t", ".", "logs/2020/m/08/d/15/%q")]
    [InlineData("/fluent-bit-logs/$TAG/%Y/%m/%d/%H/%M/%S", "app.web", ".", "fluent-bit-logs/app.web/2020/08/15/10/20/30")]
    public void Renders_like_fluent_bit(string format, string tag, string delimiters, string expected)
    {
        var key = new S3KeyFormat(format, delimiters, staticFilePath: false);
        Assert.Equal(expected, key.Render(tag, Time, index: 0, uuid: "ABCDEFGH"));
    }

    [Fact]
    public void Index_and_uuid_are_substituted()
    {
        var key = new S3KeyFormat("logs/$TAG[2]/$TAG[1]/$TAG[0]/%Y/%m/%d/file-$INDEX-$UUID", ".", staticFilePath: false);
        Assert.Equal("logs/ccc/bb/aa/2020/08/15/file-12-Zx9Qa0bC", key.Render("aa.bb.ccc", Time, 12, "Zx9Qa0bC"));
        Assert.True(key.HasIndex);
        Assert.False(key.AppendsObjectSuffix);
    }

    [Fact]
    public void Keys_get_the_object_suffix_unless_uuid_or_static_file_path()
    {
        Assert.Equal("logs/a-objectABCDEFGH", new S3KeyFormat("logs/a", ".", false).WithObjectSuffix("logs/a", "ABCDEFGH"));
        Assert.Equal("logs/a", new S3KeyFormat("logs/a", ".", staticFilePath: true).WithObjectSuffix("logs/a", "ABCDEFGH"));
        Assert.Equal("logs/a", new S3KeyFormat("logs/$UUID", ".", false).WithObjectSuffix("logs/a", "ABCDEFGH"));
    }

    [Fact]
    public void Random_parts_are_eight_alphanumerics()
    {
        var uuid = S3KeyFormat.RandomAlphanumerics(8);
        Assert.Equal(8, uuid.Length);
        Assert.All(uuid, c => Assert.True(char.IsAsciiLetterOrDigit(c)));
    }

    [Fact]
    public void Keys_are_cut_at_1024_bytes()
    {
        var key = new S3KeyFormat("logs/" + new string('k', 2000), ".", false);
        Assert.Equal(1024, key.Render("t", Time, 0, "u").Length);
    }
}
