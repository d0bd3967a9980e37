using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Config;
using Gateway.Engine.Routing;

namespace Gateway.Aggregator.Tests.Routing;

public sealed class TagMatcherTests
{
    [Theory]

    // Fluent Bit's own router test table (tests/internal/router.c).
    [InlineData("file.apache.log", "file.*.log", true)]
    [InlineData("cpu.rpi", "cpu.rpi", true)]
    [InlineData("cpu.rpi", "cpu.*", true)]
    [InlineData("cpu.rpi", "*", true)]
    [InlineData("cpu.rpi", "*.*", true)]
    [InlineData("cpu.rpi", "*.rpi", true)]
    [InlineData("cpu.rpi", "mem.*", false)]
    [InlineData("cpu.rpi", "*u.r*", true)]
    [InlineData("hoge", "hogeeeeeee", false)]
    [InlineData("test", "test", true)]

    // '*' crosses dots and may be empty; everything else is literal and case-sensitive; the whole tag must match.
    [InlineData("kube.var.log.containers.app_ns_c-123.log", "kube.*", true)]
    [InlineData("kube.var.log.containers.app.log", "kube.*.log", true)]
    [InlineData("kube.", "kube.*", true)]
    [InlineData("kube", "kube.*", false)]
    [InlineData("kube.a", "kube", false)]
    [InlineData("akube.a", "kube.*", false)]
    [InlineData("Kube.a", "kube.*", false)]
    [InlineData("a.b.c", "**", true)]
    [InlineData("a.b.c", "a**c", true)]
    [InlineData("", "*", true)]
    [InlineData("", "a*", false)]
    [InlineData("aXbXc", "a*b*c", true)]
    [InlineData("abcbd", "a*bd", true)]
    [InlineData("abcbdx", "a*bd", false)]
    [InlineData("a.b", "a?b", false)]
    [InlineData("a?b", "a?b", true)]
    public void Match_uses_fluent_bit_wildcards(string tag, string pattern, bool expected)
    {
        Assert.Equal(expected, new TagMatcher(pattern, null).IsMatch(tag));
    }

    [Theory]
    [InlineData("host.syslog", @"host\.(syslog|dmesg)", true)]
    [InlineData("host.syslog.extra", @"host\.syslog", true)] // anchored at the start only, as onig_match
    [InlineData("my.host.syslog", @"host\.syslog", false)]
    [InlineData("bbb", "a*", false)] // an empty match is no match
    [InlineData("kube.x", "^kube", true)]
    [InlineData("KUBE.x", "(?i)kube", true)]
    public void Match_Regex_is_anchored_at_the_start_and_needs_a_non_empty_match(string tag, string regex, bool expected)
    {
        Assert.Equal(expected, new TagMatcher(null, regex).IsMatch(tag));
    }

    [Fact]
    public void With_both_keys_either_one_matching_is_enough()
    {
        var matcher = new TagMatcher("kube.*", "^host");
        Assert.True(matcher.IsMatch("kube.a"));
        Assert.True(matcher.IsMatch("host.a"));
        Assert.False(matcher.IsMatch("app.a"));
    }

    [Fact]
    public void A_section_without_match_keys_has_no_matcher_and_a_bad_regex_names_its_line()
    {
        var plain = new ConfigSection(SectionKind.Output, "OUTPUT", new("f.conf", 1), [new("Name", "null", new("f.conf", 2))]);
        Assert.Null(TagMatcher.FromSection(plain));

        var bad = new ConfigSection(SectionKind.Output, "OUTPUT", new("f.conf", 1), [new("Match_Regex", "(unclosed", new("f.conf", 7))]);
        var ex = Assert.Throws<ConfigException>(() => TagMatcher.FromSection(bad));
        Assert.Equal(new ConfigLocation("f.conf", 7), ex.Location);
        Assert.Contains("Match_Regex", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Route_table_returns_every_matching_target_in_config_order_and_caches_per_tag()
    {
        var table = new RouteTable([new TagMatcher("kube.*", null), null, new TagMatcher("*", null), new TagMatcher(null, "^kube")]);

        var first = table.Resolve("kube.a");
        Assert.Equal([0, 2, 3], first);
        Assert.Same(first, table.Resolve("kube.a"));
        Assert.Equal([2], table.Resolve("host.a"));
    }
}
