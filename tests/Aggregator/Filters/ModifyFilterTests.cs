using Gateway.Aggregator.Filters;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters;

public sealed class ModifyFilterTests
{
    private const string Record = "{\"Mem.total\":1016024,\"Mem.used\":716672,\"Swap.total\":0,\"Swap.used\":0,\"level\":\"info\"}";

    private static void Check(string input, string expected, params (string, string)[] options)
    {
        var all = new List<(string, string)> { ("Name", "modify"), ("Match", "*") };
        all.AddRange(options);
        AssertRecords(Run(Chunk(input), Filter([.. all])), expected);
    }

    [Fact]
    public void Set_replaces_by_appending_at_the_end()
    {
        Check(Record, "{\"Mem.total\":1016024,\"Mem.used\":716672,\"Swap.total\":0,\"Swap.used\":0,\"level\":\"debug\"}", ("Set", "level debug"));
        Check(Record, "{\"Mem.used\":716672,\"Swap.total\":0,\"Swap.used\":0,\"level\":\"info\",\"Mem.total\":\"x\"}", ("Set", "Mem.total x"));
        Check("{\"a\":1}", "{\"a\":1,\"b\":\"quoted value\"}", ("Set", "b \"quoted value\""));
    }

    [Fact]
    public void Add_only_when_absent()
    {
        Check(Record, Record[..^1] + ",\"new\":\"v\"}", ("Add", "new v"));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(Filter(("Name", "modify"), ("Add", "level x")), Chunk(Record)));
    }

    [Fact]
    public void Remove_variants()
    {
        Check(Record, "{\"Mem.total\":1016024,\"Mem.used\":716672,\"Swap.total\":0,\"Swap.used\":0}", ("Remove", "level"));
        Check(Record, "{\"Swap.total\":0,\"Swap.used\":0,\"level\":\"info\"}", ("Remove_wildcard", "Mem."));
        Check(Record, "{\"Mem.total\":1016024,\"Mem.used\":716672,\"level\":\"info\"}", ("Remove_regex", "^Swap"));
    }

    [Fact]
    public void Rename_keeps_the_position_and_refuses_to_overwrite()
    {
        Check(Record, "{\"Mem.total\":1016024,\"Mem.used\":716672,\"Swap.total\":0,\"Swap.used\":0,\"severity\":\"info\"}", ("Rename", "level severity"));
        Check(Record, "{\"Mem.total\":1016024,\"Memory\":716672,\"Swap.total\":0,\"Swap.used\":0,\"level\":\"info\"}", ("Rename", "Mem.used Memory"));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(Filter(("Name", "modify"), ("Rename", "level Mem.used")), Chunk(Record)));
    }

    [Fact]
    public void Hard_rename_drops_the_old_target()
    {
        Check(Record, "{\"Mem.total\":1016024,\"Swap.total\":0,\"Swap.used\":0,\"Mem.used\":\"info\"}", ("Hard_rename", "level Mem.used"));
    }

    [Fact]
    public void Copy_inserts_right_after_the_source()
    {
        Check(Record, "{\"Mem.total\":1016024,\"Mem.total2\":1016024,\"Mem.used\":716672,\"Swap.total\":0,\"Swap.used\":0,\"level\":\"info\"}", ("Copy", "Mem.total Mem.total2"));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(Filter(("Name", "modify"), ("Copy", "Mem.total level")), Chunk(Record)));
        Check(Record, "{\"Mem.total\":1016024,\"level\":1016024,\"Mem.used\":716672,\"Swap.total\":0,\"Swap.used\":0}", ("Hard_copy", "Mem.total level"));
    }

    [Fact]
    public void Rules_apply_in_order_on_the_previous_result()
    {
        Check("{\"a\":\"1\"}", "{\"c\":\"1\",\"a\":\"2\"}", ("Rename", "a b"), ("Rename", "b c"), ("Add", "a 2"));
    }

    [Fact]
    public void Conditions_gate_the_rules()
    {
        Check(Record, Record[..^1] + ",\"ok\":\"1\"}", ("Condition", "Key_exists level"), ("Condition", "Key_value_equals level info"), ("Add", "ok 1"));
        Check(Record, Record[..^1] + ",\"ok\":\"1\"}", ("Condition", "Key_does_not_exist nothere"), ("Condition", "A_key_matches ^Mem"), ("Add", "ok 1"));
        Check(Record, Record[..^1] + ",\"ok\":\"1\"}", ("Condition", "Key_value_matches level ^in"), ("Condition", "No_key_matches ^zzz"), ("Add", "ok 1"));
        Check(Record, Record[..^1] + ",\"ok\":\"1\"}", ("Condition", "Key_value_does_not_equal level warn"), ("Condition", "Key_value_does_not_match level ^w"), ("Add", "ok 1"));
        Check("{\"a1\":\"x\",\"a2\":\"xy\",\"b\":\"z\"}", "{\"a1\":\"x\",\"a2\":\"xy\",\"b\":\"z\",\"ok\":\"1\"}", ("Condition", "Matching_keys_have_matching_values ^a x"), ("Add", "ok 1"));
        Check("{\"a1\":\"x\",\"a2\":\"q\"}", "{\"a1\":\"x\",\"a2\":\"q\",\"ok\":\"1\"}", ("Condition", "Matching_keys_do_not_have_matching_values ^a x"), ("Add", "ok 1"));

        var gated = Filter(("Name", "modify"), ("Condition", "Key_value_equals level warn"), ("Add", "ok 1"));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(gated, Chunk(Record)));
        var missing = Filter(("Name", "modify"), ("Condition", "Key_value_does_not_equal nothere x"), ("Add", "ok 1"));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(missing, Chunk(Record)));
    }

    [Fact]
    public void Conditions_take_record_accessors()
    {
        Check("{\"k\":{\"ns\":\"prod\"}}", "{\"k\":{\"ns\":\"prod\"},\"env\":\"p\"}", ("Condition", "Key_value_equals $k['ns'] prod"), ("Set", "env p"));
    }

    [Fact]
    public void Systemd_rename_and_remove_regex_chain_from_the_seed()
    {
        var modify = Filter(("Name", "modify"), ("Match", "dataplane.systemd.*"),
            ("Rename", "_HOSTNAME                   hostname"),
            ("Rename", "_SYSTEMD_UNIT               systemd_unit"),
            ("Rename", "MESSAGE                     message"),
            ("Remove_regex", "^((?!hostname|systemd_unit|message).)*$"));
        var chunk = Chunk("{\"PRIORITY\":\"6\",\"_HOSTNAME\":\"ip-10-0-0-1\",\"_SYSTEMD_UNIT\":\"kubelet.service\",\"MESSAGE\":\"Started kubelet\",\"_PID\":\"123\"}");
        AssertRecords(Run(chunk, modify), "{\"hostname\":\"ip-10-0-0-1\",\"systemd_unit\":\"kubelet.service\",\"message\":\"Started kubelet\"}");
    }

    [Fact]
    public void Bad_options_are_reported_with_their_line()
    {
        var ex = Assert.Throws<ConfigException>(() => Filter(("Name", "modify"), ("Rename", "onlyone")));
        Assert.Equal(3, ex.Location.Line);
        ex = Assert.Throws<ConfigException>(() => Filter(("Name", "modify"), ("Add", "a b"), ("Explode", "a")));
        Assert.Equal(4, ex.Location.Line);
        Assert.Throws<ConfigException>(() => Filter(("Name", "modify"), ("Condition", "Key_is_nice a")));
        Assert.Throws<ConfigException>(() => Filter(("Name", "modify"), ("Condition", "Key_value_equals a")));
        Assert.Throws<ConfigException>(() => Filter(("Name", "modify"), ("Remove_regex", "(")));
        Assert.Throws<ConfigException>(() => Filter(("Name", "modify"), ("Set", "a \"unterminated")));
    }
}
