using Gateway.Engine.Parsers;

namespace Gateway.Engine.Tests.Config;

public sealed class OnigmoRegexTests
{
    [Theory]
    [InlineData(@"^(?<id>\h+)$", "^(?<id>[0-9a-fA-F]+)$")]
    [InlineData(@"[\h_]", "[0-9a-fA-F_]")]
    [InlineData(@"\H", "[^0-9a-fA-F]")]
    [InlineData(@"\x{263A}", @"\u263A")]
    [InlineData(@"[[:alpha:][:digit:]]+", "[a-zA-Z0-9]+")]
    [InlineData(@"(?m:.+)", "(?s:.+)")]
    [InlineData(@"\A\d+\z", @"\A\d+\z")]
    [InlineData(@"a*?b+?c??", @"a*?b+?c??")]
    [InlineData(@"[]a]", "[]a]")]
    public void Translates_onigmo_only_syntax(string onigmo, string dotnet)
    {
        Assert.True(OnigmoRegex.TryTranslate(onigmo, out var translated, out var error), error);
        Assert.Equal(dotnet, translated);
    }

    [Theory]
    [InlineData(@"a\Kb", @"\K")]
    [InlineData(@"a*+", "possessive")]
    [InlineData(@"[a-z[^aeiou]]", "nested character class '[^aeiou]' at offset 4")]
    [InlineData(@"[a&&b]", "intersection")]
    [InlineData(@"(?<n>a)\g<n>", "subexpression calls")]
    [InlineData(@"[\H]", @"\H inside")]
    public void Reports_what_net_cannot_express(string onigmo, string reason)
    {
        Assert.False(OnigmoRegex.TryTranslate(onigmo, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Slash_delimited_patterns_take_ruby_flags()
    {
        Assert.True(OnigmoRegex.TryCompile("/^hello.world$/im", out var regex, out _));

        Assert.Matches(regex!, "HELLO\nWORLD");
    }

    [Fact]
    public void Named_groups_capture_like_fluent_bit()
    {
        Assert.True(OnigmoRegex.TryCompile(@"^(?<host>[^ ]*) (?<ident>[a-zA-Z0-9_\/\.\-]*)(?:\[(?<pid>[0-9]+)\])?", out var regex, out _));

        var match = regex!.Match("node-1 sshd[42]: hi");
        Assert.Equal("node-1", match.Groups["host"].Value);
        Assert.Equal("sshd", match.Groups["ident"].Value);
        Assert.Equal("42", match.Groups["pid"].Value);
    }
}
