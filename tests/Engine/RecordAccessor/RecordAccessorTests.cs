using Gateway.Engine.Json;
using Gateway.Engine.RecordAccessor;
using Gateway.Tests.Shared;
using Accessor = Gateway.Engine.RecordAccessor.RecordAccessor;

namespace Gateway.Engine.Tests.RecordAccessor;

/// <summary>Cases from Fluent Bit's tests/internal/record_accessor.c plus the gateway's template needs.</summary>
public sealed class RecordAccessorTests
{
    private const string TranslateRecord =
        "{\"k1\": \"string\", \"k2\": true, \"k3\": false, \"k4\": 0.123456789, \"k5\": 123456789, \"k6\": {\"s1\": {\"s2\": \"nested\"}}}";

    private const string ArrayRecord =
        "{\"key1\": \"something\", \"kubernetes\": [true, false, {\"a\": false, \"annotations\": {\"fluentbit.io/tag\": \"thetag\"}}]}";

    private static string? Render(string pattern, string json, string tag = "", bool strict = false) =>
        Accessor.Parse(pattern).RenderTemplate(tag, JsonMsgpack.FromJson(json), strict);

    [Fact]
    public void Keys_split_into_the_same_pieces_as_fluent_bit()
    {
        Assert.Equal(4, Accessor.Parse("$aaa['a'] extra $bbb['b'] final access").Parts.Count);
        Assert.Single(Accessor.Parse("$b['x']['y']").Parts);
        Assert.Single(Accessor.Parse("$z").Parts);
        Assert.Single(Accessor.Parse("abc").Parts);
        Assert.Empty(Accessor.Parse("").Parts);
        Assert.Throws<RecordAccessorSyntaxException>(() => Accessor.Parse("$abc['a'"));
    }

    [Fact]
    public void Translate_renders_every_value_type_as_fluent_bit()
    {
        var fmt = "START k1 => \"$k1\", k2 => $k2 (bool), k3 => $k3 (bool), " +
                  "k4 => $k4 (float), k5 => $k5 (int)," +
                  "k6 => $k6['s1']['s2'] (nested), k8 => $k8 (nothing), END";
        var expected = "START k1 => \"string\", k2 => true (bool), " +
                       "k3 => false (bool), k4 => 0.123457 (float), " +
                       "k5 => 123456789 (int),k6 => nested (nested), " +
                       "k8 =>  (nothing), END";
        Assert.Equal(expected, Render(fmt, TranslateRecord));
    }

    [Fact]
    public void Tag_and_tag_parts()
    {
        Assert.Equal("testapp", Render("$TAG", TranslateRecord, "testapp"));
        Assert.Equal("var", Render("$TAG[1]", "{}", "kube.var.log.containers.app"));
        Assert.Equal("app", Render("$TAG[4]", "{}", "kube.var.log.containers.app"));
        Assert.Equal("nodots", Render("$TAG[0]", "{}", "nodots"));
        Assert.Equal("", Render("$TAG[9]", "{}", "a.b"));
        Assert.Equal("x-a.b-y", Render("x-$TAG-y", "{}", "a.b"));
    }

    [Fact]
    public void Dotted_sub_keys_inside_quotes()
    {
        var json = "{\"key1\": \"something\", \"kubernetes\": {\"annotations\": {\"fluentbit.io/tag\": \"thetag\"}}}";
        Assert.Equal("thetag", Render("$kubernetes['annotations']['fluentbit.io/tag']", json));
    }

    [Fact]
    public void Array_indexes()
    {
        Assert.Equal("thetag", Render("$kubernetes[2]['annotations']['fluentbit.io/tag']", ArrayRecord));
        Assert.Equal("val1", Render("$key['nested'][1]", "{ \"key\": {\"nested\":[\"val0\", \"val1\"]}}"));
        Assert.Equal("b", Render("$list[1]", "{\"list\": [\"a\", \"b\"]}"));
        Assert.Equal("", Render("$list[5]", "{\"list\": [\"a\", \"b\"]}"));
        Assert.Equal("", Render("$list['x']", "{\"list\": [\"a\", \"b\"]}"));
    }

    [Fact]
    public void Get_value_returns_a_reference_into_the_record()
    {
        var record = JsonMsgpack.FromJson(ArrayRecord);
        Assert.True(Accessor.Parse("$kubernetes[2]['annotations']['fluentbit.io/tag']").TryGetValue(record, out var value));
        Assert.Equal(MsgpackKind.String, value.Kind);
        Assert.Equal("thetag"u8.ToArray(), value.Payload(record).ToArray());
        Assert.False(Accessor.Parse("$kubernetes[2]['nope']").TryGetValue(record, out _));
        Assert.False(Accessor.Parse("$missing").TryGetValue(record, out _));
    }

    [Fact]
    public void Dash_in_key_names()
    {
        Assert.Equal("something", Render("$key-dash", "{\"key-dash\": \"something\"}"));
    }

    [Fact]
    public void Last_of_repeated_keys_wins()
    {
        var json = "{\"key\": \"abc\", \"bool\": false, \"bool\": true, \"str\": \"bad\", \"str\": \"good\", \"num\": 0, \"num\": 1}";
        Assert.Equal("true", Render("$bool", json));
        Assert.Equal("good", Render("$str", json));
        Assert.Equal("1", Render("$num", json));
    }

    [Fact]
    public void Issue_4917_keys_between_dots()
    {
        Assert.Equal("from.new.fluent.bit.out", Render("from.new.$tool.$sub['s1']['s2'].out", "{\"tool\": \"fluent\", \"sub\": {\"s1\": {\"s2\": \"bit\"}}}"));
    }

    [Fact]
    public void Strict_translation_fails_on_a_missing_key()
    {
        Assert.Null(Render("$root", "{\"root.with/symbols\": \"something\"}", strict: true));
        Assert.Equal("", Render("$root", "{\"root.with/symbols\": \"something\"}"));
    }

    [Fact]
    public void Maps_render_as_json_and_null_as_null_arrays_as_nothing()
    {
        Assert.Equal("{\"a\":1,\"b\":[1,2]}", Render("$m", "{\"m\": {\"a\": 1, \"b\": [1, 2]}}"));
        Assert.Equal("null", Render("$n", "{\"n\": null}"));
        Assert.Equal("", Render("$arr", "{\"arr\": [1]}"));
        Assert.Equal("-5", Render("$i", "{\"i\": -5}"));
        Assert.Equal("1.500000", Render("$f", "{\"f\": 1.5}"));
    }

    [Fact]
    public void Sub_keys_on_a_scalar_root_answer_the_root_as_fluent_bit()
    {
        Assert.Equal("plain", Render("$log['x']", "{\"log\": \"plain\"}"));
    }

    [Fact]
    public void Quotes_are_doubled_inside_sub_keys()
    {
        Assert.Equal("v", Render("$a['it''s']", "{\"a\": {\"it's\": \"v\"}}"));
    }

    [Fact]
    public void Path_templates_with_text_around_accessors()
    {
        var json = "{\"kubernetes\": {\"namespace_name\": \"prod\", \"pod_name\": \"web-1\"}}";
        Assert.Equal("/eks/prod/x", Render("/eks/$kubernetes['namespace_name']/x", json));
        Assert.Equal("/eks/prod/web-1", Render("/eks/$kubernetes['namespace_name']/$kubernetes['pod_name']", json));
        Assert.Equal("prod.web-1", Render("$kubernetes['namespace_name'].$kubernetes['pod_name']", json));
    }

    [Fact]
    public void Fluent_bit_edge_cases_are_kept()
    {
        // A single character after an accessor is dropped by ra_parse_buffer's tail rule.
        Assert.Equal("v", Render("$k.", "{\"k\": \"v\"}"));
        Assert.Equal("v.x", Render("$k.x", "{\"k\": \"v\"}"));
        Assert.Equal("abc", Render("abc$", "{}"));
        Assert.Equal("a", Render("a", "{}"));
    }

    [Theory]
    [InlineData("$")]
    [InlineData("$['a']")]
    [InlineData("$a[")]
    [InlineData("$a[]")]
    [InlineData("$a['b']c")]
    [InlineData("$a$b")]
    [InlineData("$a[x]")]
    public void Bad_patterns_are_rejected_or_harmless(string pattern)
    {
        // Never a crash: either a clear syntax error or an accessor that renders without throwing.
        try
        {
            var accessor = Accessor.Parse(pattern);
            accessor.RenderTemplate("t", JsonMsgpack.FromJson("{\"a\": 1}"));
        }
        catch (RecordAccessorSyntaxException ex)
        {
            Assert.Contains(pattern, ex.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Bad_patterns_name_the_problem()
    {
        var ex = Assert.Throws<RecordAccessorSyntaxException>(() => Accessor.Parse("$a['b'"));
        Assert.Contains("$a['b'", ex.Message, StringComparison.Ordinal);
        Assert.Throws<RecordAccessorSyntaxException>(() => Accessor.Parse("$a[x]"));
        Assert.Throws<RecordAccessorSyntaxException>(() => Accessor.Parse("$a['b']c"));
    }

    [Fact]
    public void Legacy_cloudwatch_templates()
    {
        var record = JsonMsgpack.FromJson("{\"kubernetes\": {\"pod_name\": \"web-1\", \"namespace_name\": \"prod\"}}");
        var tag = "fluentbit.var.log.containers.web-1_prod_app-abc.log";
        Assert.Equal("node_web-1_prod_app-abc", Accessor.ParseLegacyTemplate("node_$(tag[4])").RenderTemplate(tag, record));
        Assert.Equal("/eks/prod/web-1", Accessor.ParseLegacyTemplate("/eks/$(kubernetes['namespace_name'])/$(kubernetes['pod_name'])").RenderTemplate(tag, record));
        Assert.Equal(tag, Accessor.ParseLegacyTemplate("$(tag)").RenderTemplate(tag, record));
        Assert.Equal("x_var", Accessor.ParseLegacyTemplate("x_$(tag[1])").RenderTemplate(tag, record));
        Assert.Null(Accessor.ParseLegacyTemplate("$(tag[9])").RenderTemplate(tag, record));
        Assert.Null(Accessor.ParseLegacyTemplate("$(kubernetes['missing'])").RenderTemplate(tag, record));
        Assert.Throws<RecordAccessorSyntaxException>(() => Accessor.ParseLegacyTemplate("$(tag[1]"));
        Assert.Throws<RecordAccessorSyntaxException>(() => Accessor.ParseLegacyTemplate("$(ecs_task_id)"));
    }

    [Fact]
    public void Malformed_records_find_nothing()
    {
        var accessor = Accessor.Parse("$a['b']");
        Assert.False(accessor.TryGetValue([0x81, 0xa1, (byte)'a'], out _));
        Assert.False(accessor.TryGetValue([0x92, 0x01], out _));
        Assert.False(accessor.TryGetValue([], out _));
        Assert.Equal("", accessor.RenderTemplate("t", [0xc1]));
    }

    [Fact]
    public void Fuzzed_patterns_never_crash()
    {
        var random = new Random(4370);
        const string alphabet = "$[]'.,\" abcTAG019-_/()\t\n{}@";
        var record = JsonMsgpack.FromJson("{\"a\": {\"b\": [1, {\"c\": \"d\"}]}, \"TAG\": \"x\", \"abc\": null}");
        for (var n = 0; n < 20000; n++)
        {
            var chars = new char[random.Next(0, 24)];
            for (var k = 0; k < chars.Length; k++)
            {
                chars[k] = alphabet[random.Next(alphabet.Length)];
            }

            var pattern = new string(chars);
            foreach (var legacy in new[] { false, true })
            {
                Accessor accessor;
                try
                {
                    accessor = legacy ? Accessor.ParseLegacyTemplate(pattern) : Accessor.Parse(pattern);
                }
                catch (RecordAccessorSyntaxException)
                {
                    continue;
                }

                accessor.RenderTemplate("a.b.c", record);
                accessor.TryGetValue(record, out _);
            }
        }
    }
}
