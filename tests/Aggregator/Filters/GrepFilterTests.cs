using Gateway.Aggregator.Filters;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters;

public sealed class GrepFilterTests
{
    private const string Enabled = "{\"log\":\"a\",\"level\":\"info\",\"kubernetes\":{\"annotations\":{\"fluentbit/enabled\":\"true\"}}}";
    private const string Disabled = "{\"log\":\"b\",\"kubernetes\":{\"annotations\":{\"fluentbit/enabled\":\"false\"}}}";
    private const string NoAnnotations = "{\"log\":\"c\",\"level\":\"warn\",\"kubernetes\":{\"pod_name\":\"p\"}}";

    [Fact]
    public void Regex_on_a_nested_record_accessor_keeps_only_matching_records()
    {
        var grep = Filter(("Name", "grep"), ("Match", "application.*"), ("Regex", "$kubernetes['annotations']['fluentbit/enabled'] true"));
        AssertRecords(Run(Chunk(Enabled, Disabled, NoAnnotations), grep), Enabled);
    }

    [Fact]
    public void Regex_on_a_plain_key_requires_the_key()
    {
        var grep = Filter(("Name", "grep"), ("Regex", "level ."));
        AssertRecords(Run(Chunk(Enabled, Disabled, NoAnnotations), grep), Enabled, NoAnnotations);
    }

    [Fact]
    public void Exclude_drops_matching_records_and_keeps_records_without_the_key()
    {
        var grep = Filter(("Name", "grep"), ("Exclude", "level ^warn$"));
        AssertRecords(Run(Chunk(Enabled, Disabled, NoAnnotations), grep), Enabled, Disabled);
    }

    [Fact]
    public void Nothing_dropped_means_not_touched()
    {
        var grep = Filter(("Name", "grep"), ("Regex", "log ."));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(grep, Chunk(Enabled, Disabled)));
    }

    [Fact]
    public void Only_strings_can_match()
    {
        var grep = Filter(("Name", "grep"), ("Regex", "n 1"));
        AssertRecords(Run(Chunk("{\"n\":1}", "{\"n\":\"1\"}", "{\"n\":{\"a\":\"1\"}}"), grep), "{\"n\":\"1\"}");
    }

    [Fact]
    public void Legacy_rules_stop_at_the_first_matching_regex()
    {
        // grep.c (legacy): a matching Regex keeps the record without looking at later rules.
        var grep = Filter(("Name", "grep"), ("Regex", "a x"), ("Regex", "b y"));
        AssertRecords(Run(Chunk("{\"a\":\"x\",\"b\":\"n\"}", "{\"a\":\"n\",\"b\":\"y\"}"), grep), "{\"a\":\"x\",\"b\":\"n\"}");
    }

    [Fact]
    public void Logical_and_and_or()
    {
        var records = new[] { "{\"a\":\"x\",\"b\":\"y\"}", "{\"a\":\"x\",\"b\":\"n\"}", "{\"a\":\"n\",\"b\":\"n\"}" };
        var and = Filter(("Name", "grep"), ("Logical_Op", "AND"), ("Regex", "a x"), ("Regex", "b y"));
        AssertRecords(Run(Chunk(records), and), records[0]);
        var or = Filter(("Name", "grep"), ("Logical_Op", "or"), ("Regex", "a x"), ("Regex", "b y"));
        AssertRecords(Run(Chunk(records), or), records[0], records[1]);
        var excludeOr = Filter(("Name", "grep"), ("Logical_Op", "Or"), ("Exclude", "a x"), ("Exclude", "b y"));
        AssertRecords(Run(Chunk(records), excludeOr), records[2]);
    }

    [Fact]
    public void Plain_text_patterns_mean_contains_and_regex_syntax_is_onigmo()
    {
        var contains = Filter(("Name", "grep"), ("Regex", "msg kube-system"));
        AssertRecords(Run(Chunk("{\"msg\":\"in kube-system now\"}", "{\"msg\":\"kube-public\"}"), contains), "{\"msg\":\"in kube-system now\"}");
        var anchored = Filter(("Name", "grep"), ("Regex", "msg ^end$"));
        AssertRecords(Run(Chunk("{\"msg\":\"start\\nend\"}", "{\"msg\":\"endless\"}"), anchored), "{\"msg\":\"start\\nend\"}");
        var delimited = Filter(("Name", "grep"), ("Regex", "msg /ERROR/i"));
        AssertRecords(Run(Chunk("{\"msg\":\"an error\"}", "{\"msg\":\"fine\"}"), delimited), "{\"msg\":\"an error\"}");
    }

    [Fact]
    public void Bad_options_name_the_line()
    {
        var ex = Assert.Throws<ConfigException>(() => Filter(("Name", "grep"), ("Regex", "onlykey")));
        Assert.Equal(3, ex.Location.Line);
        ex = Assert.Throws<ConfigException>(() => Filter(("Name", "grep"), ("Match", "*"), ("Regex", "log (")));
        Assert.Equal(4, ex.Location.Line);
        Assert.Contains("invalid regular expression", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ConfigException>(() => Filter(("Name", "grep"), ("Logical_Op", "AND"), ("Regex", "a x"), ("Exclude", "b y")));
        Assert.Equal(5, ex.Location.Line);
        ex = Assert.Throws<ConfigException>(() => Filter(("Name", "grep"), ("Regex", "$a['b' x")));
        Assert.Contains("record accessor", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ConfigException>(() => Filter(("Name", "grep"), ("Regexp", "a x")));
    }
}
