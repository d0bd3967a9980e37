using System.Text.RegularExpressions;
using Gateway.Aggregator.Filters;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters;

public sealed class RecordModifierFilterTests
{
    [Fact]
    public void Record_appends_pairs_in_order_even_when_the_key_exists()
    {
        var filter = Filter(("Name", "record_modifier"), ("Record", "hostname node-1"), ("Record", "product Awesome Tool"), ("Record", "a again"));
        AssertRecords(Run(Chunk("{\"a\":1}"), filter), "{\"a\":1,\"hostname\":\"node-1\",\"product\":\"Awesome Tool\",\"a\":\"again\"}");
    }

    [Fact]
    public void Remove_key_is_case_insensitive_and_supports_a_trailing_star()
    {
        var filter = Filter(("Name", "record_modifier"), ("Remove_key", "STREAM"), ("Remove_key", "k8s_*"));
        AssertRecords(Run(Chunk("{\"stream\":\"stdout\",\"k8s_a\":1,\"k8s\":2,\"log\":\"x\",\"K8S_b\":3}"), filter), "{\"k8s\":2,\"log\":\"x\"}");
    }

    [Fact]
    public void Allowlist_and_its_old_name_keep_only_listed_keys()
    {
        foreach (var option in new[] { "Allowlist_key", "Whitelist_key" })
        {
            var filter = Filter(("Name", "record_modifier"), (option, "log"), (option, "lev*"));
            AssertRecords(Run(Chunk("{\"a\":1,\"log\":\"x\",\"level\":\"info\",\"b\":2}"), filter), "{\"log\":\"x\",\"level\":\"info\"}");
        }
    }

    [Fact]
    public void A_record_left_empty_is_dropped()
    {
        var filter = Filter(("Name", "record_modifier"), ("Whitelist_key", "log"));
        AssertRecords(Run(Chunk("{\"a\":1}", "{\"log\":\"x\",\"b\":2}"), filter), "{\"log\":\"x\"}");
    }

    [Fact]
    public void Nothing_to_do_means_not_touched()
    {
        var filter = Filter(("Name", "record_modifier"), ("Remove_key", "nothere"));
        Assert.Equal(FilterOutcome.NotTouched, Outcome(filter, Chunk("{\"a\":1}", "{\"b\":2}")));
    }

    [Fact]
    public void Uuid_key_adds_a_fresh_uuid_v4_after_the_records()
    {
        var filter = Filter(("Name", "record_modifier"), ("Record", "k v"), ("Uuid_key", "uuid"));
        var records = RecordsAsJson(Run(Chunk("{\"a\":1}", "{\"a\":2}"), filter));
        var pattern = new Regex("^\\{\"a\":\\d,\"k\":\"v\",\"uuid\":\"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\"\\}$");
        Assert.All(records, r => Assert.Matches(pattern, r));
        Assert.NotEqual(records[0][^38..], records[1][^38..]);
    }

    [Fact]
    public void Bad_options_are_reported_with_their_line()
    {
        var ex = Assert.Throws<ConfigException>(() => Filter(("Name", "record_modifier"), ("Record", "lonely")));
        Assert.Equal(3, ex.Location.Line);
        ex = Assert.Throws<ConfigException>(() => Filter(("Name", "record_modifier"), ("Remove_key", "a"), ("Allowlist_key", "b")));
        Assert.Equal(4, ex.Location.Line);
        Assert.Throws<ConfigException>(() => Filter(("Name", "record_modifier"), ("Remove_keys", "a")));
    }
}
