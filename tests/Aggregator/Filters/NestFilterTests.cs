using Gateway.Aggregator.Filters;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters;

public sealed class NestFilterTests
{
    [Fact]
    public void Nest_moves_matching_keys_in_order_under_a_new_key_at_the_end()
    {
        var nest = Filter(("Name", "nest"), ("Operation", "nest"), ("Wildcard", "Mem.*"), ("Nest_under", "Memstats"));
        var chunk = Chunk("{\"Mem.total\":1016024,\"Swap.total\":0,\"Mem.used\":716672,\"Mem.free\":299352,\"Swap.used\":0}");
        AssertRecords(Run(chunk, nest),
            "{\"Swap.total\":0,\"Swap.used\":0,\"Memstats\":{\"Mem.total\":1016024,\"Mem.used\":716672,\"Mem.free\":299352}}");
    }

    [Fact]
    public void Nest_with_remove_prefix_and_several_wildcards()
    {
        var nest = Filter(("Name", "nest"), ("Operation", "nest"), ("Wildcard", "Mem.*"), ("Wildcard", "Swap.used"),
            ("Nest_under", "stats"), ("Remove_prefix", "Mem."));
        var chunk = Chunk("{\"Mem.total\":1,\"Swap.total\":2,\"Swap.used\":3,\"x\":\"y\"}");
        AssertRecords(Run(chunk, nest), "{\"Swap.total\":2,\"x\":\"y\",\"stats\":{\"total\":1,\"Swap.used\":3}}");
    }

    [Fact]
    public void Exact_wildcard_matches_only_that_key()
    {
        var nest = Filter(("Name", "nest"), ("Operation", "nest"), ("Wildcard", "a"), ("Nest_under", "n"));
        AssertRecords(Run(Chunk("{\"a\":1,\"ab\":2}"), nest), "{\"ab\":2,\"n\":{\"a\":1}}");
    }

    [Fact]
    public void Lift_appends_the_inner_entries_after_the_others_with_a_prefix()
    {
        var lift = Filter(("Name", "nest"), ("Operation", "lift"), ("Nested_under", "Stats"), ("Add_prefix", "Lifted_"));
        var chunk = Chunk("{\"Stats\":{\"Mem.total\":1,\"Mem.used\":2},\"host\":\"h\",\"n\":[1,2]}");
        AssertRecords(Run(chunk, lift), "{\"host\":\"h\",\"n\":[1,2],\"Lifted_Mem.total\":1,\"Lifted_Mem.used\":2}");
    }

    [Fact]
    public void Lift_leaves_a_non_map_value_alone_and_keeps_duplicates()
    {
        var lift = Filter(("Name", "nest"), ("Operation", "lift"), ("Nested_under", "log"));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(lift, Chunk("{\"log\":\"text\"}")));
        AssertRecords(Run(Chunk("{\"a\":1,\"log\":{\"a\":2}}"), lift), "{\"a\":1,\"a\":2}");
    }

    [Fact]
    public void Records_without_matches_keep_their_bytes_and_untouched_chunks_are_not_copied()
    {
        var nest = Filter(("Name", "nest"), ("Operation", "nest"), ("Wildcard", "k8s_*"), ("Nest_under", "kubernetes"));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(nest, Chunk("{\"a\":1}", "{\"b\":2}")));
        AssertRecords(Run(Chunk("{\"a\":1}", "{\"k8s_x\":2}", "{\"b\":3}"), nest), "{\"a\":1}", "{\"kubernetes\":{\"k8s_x\":2}}", "{\"b\":3}");
    }

    [Fact]
    public void Bad_options_are_reported_with_their_line()
    {
        var ex = Assert.Throws<ConfigException>(() => Filter(("Name", "nest"), ("Operation", "flatten"), ("Nest_under", "x")));
        Assert.Equal(3, ex.Location.Line);
        ex = Assert.Throws<ConfigException>(() => Filter(("Name", "nest"), ("Operation", "lift"), ("Nested_under", "x"),
            ("Add_prefix", "a"), ("Remove_prefix", "b")));
        Assert.Equal(6, ex.Location.Line);
        Assert.Throws<ConfigException>(() => Filter(("Name", "nest"), ("Operation", "nest"), ("Wildcard", "a*")));
        Assert.Throws<ConfigException>(() => Filter(("Name", "nest"), ("Operation", "lift"), ("Nested_under", "x"), ("Bogus", "1")));
    }
}
