using System.Buffers;
using Gateway.Aggregator.Filters;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging.Abstractions;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters.Parser;

public sealed class ParserFilterTests
{
    // A json parser without a time key, a json parser with one, and Fluent Bit's conf/parsers.conf nginx regex.
    private const string Parsers = """
        [PARSER]
            Name   json
            Format json

        [PARSER]
            Name        json_time
            Format      json
            Time_Key    ts
            Time_Format %Y-%m-%dT%H:%M:%S%z

        [PARSER]
            Name   nginx
            Format regex
            Regex ^(?<remote>[^ ]*) (?<host>[^ ]*) (?<user>[^ ]*) \[(?<time>[^\]]*)\] "(?<method>\S+)(?: +(?<path>[^\"]*?)(?: +\S*)?)?" (?<code>[^ ]*) (?<size>[^ ]*)(?: "(?<referer>[^\"]*)" "(?<agent>[^\"]*)")
            Time_Key time
            Time_Format %d/%b/%Y:%H:%M:%S %z
        """;

    private const string JsonLog = """{"stream":"stdout","log":"{\"level\":\"info\",\"msg\":\"hi\"}","pod":"a"}""";

    private static readonly ParserRegistry Registry = ParserRegistry.FromConfig(ClassicConfigReader.Parse(Parsers, "parsers.conf"));

    private static IFilter ParserFilter(params (string Key, string Value)[] options) =>
        FilterFactory.Create(Section([("Name", "parser"), .. options]), services: new FilterServices(Registry, NullLoggerFactory.Instance, TimeProvider.System));

    [Fact]
    public void Registry_built_all_test_parsers()
    {
        Assert.Empty(Registry.Diagnostics);
        Assert.Equal(3, Registry.Names.Count);
    }

    [Fact]
    public void Json_without_reserve_data_keeps_only_the_parsed_fields()
    {
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "json"));
        AssertRecords(Run(Chunk(JsonLog), filter), """{"level":"info","msg":"hi"}""");
    }

    [Fact]
    public void Preserve_key_without_reserve_data_has_no_effect_as_in_filter_parser_c()
    {
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "json"), ("Preserve_Key", "On"));
        AssertRecords(Run(Chunk(JsonLog), filter), """{"level":"info","msg":"hi"}""");
    }

    [Fact]
    public void Reserve_data_puts_parsed_fields_first_then_the_other_fields_without_the_key()
    {
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "json"), ("Reserve_Data", "On"));
        AssertRecords(Run(Chunk(JsonLog), filter), """{"level":"info","msg":"hi","stream":"stdout","pod":"a"}""");
    }

    [Fact]
    public void Reserve_data_with_preserve_key_keeps_the_key_in_its_original_place()
    {
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "json"), ("Reserve_Data", "On"), ("Preserve_Key", "On"));
        AssertRecords(
            Run(Chunk(JsonLog), filter),
            """{"level":"info","msg":"hi","stream":"stdout","log":"{\"level\":\"info\",\"msg\":\"hi\"}","pod":"a"}""");
    }

    [Fact]
    public void Parse_failure_leaves_the_record_and_chunk_untouched()
    {
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "json"), ("Reserve_Data", "On"));
        var chunk = Chunk("""{"log":"not json at all","pod":"a"}""", """{"other":"x"}""", """{"log":42}""");
        Assert.Equal(FilterOutcome.NotTouched, Outcome(filter, chunk));
    }

    [Fact]
    public void Only_parsed_records_change_and_the_others_keep_their_bytes()
    {
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "json"));
        var result = Run(Chunk("""{"log":"plain"}""", JsonLog, """{"log":"also plain"}"""), filter);
        AssertRecords(result, """{"log":"plain"}""", """{"level":"info","msg":"hi"}""", """{"log":"also plain"}""");
    }

    [Fact]
    public void Multiple_parsers_the_first_that_succeeds_wins()
    {
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "nginx"), ("Parser", "json"));
        AssertRecords(Run(Chunk(JsonLog), filter), """{"level":"info","msg":"hi"}""");

        var both = ParserFilter(("Key_Name", "log"), ("Parser", "json"), ("Parser", "json_time"));
        AssertRecords(Run(Chunk("""{"log":"{\"a\":1}"}"""), both), """{"a":1}""");
    }

    [Fact]
    public void Regex_parser_sets_the_event_time_from_the_parsed_field()
    {
        var line = "93.184.216.34 - frank [10/Oct/2020:13:55:36 -0700] \\\"GET /index.html HTTP/1.1\\\" 200 2326 \\\"-\\\" \\\"curl/7.68\\\"";
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "nginx"), ("Reserve_Data", "On"));
        var result = Run(Chunk("{\"log\":\"" + line + "\",\"pod\":\"web\"}"), filter);

        var reader = new EventReader(result.Events);
        Assert.True(reader.TryRead(out var view));
        Assert.Equal(EventTime.FromDateTimeOffset(new DateTimeOffset(2020, 10, 10, 13, 55, 36, TimeSpan.FromHours(-7))), view.Time);
        Assert.Equal(
            """{"remote":"93.184.216.34","host":"-","user":"frank","method":"GET","path":"/index.html","code":"200","size":"2326","referer":"-","agent":"curl/7.68","pod":"web"}""",
            Gateway.Tests.Shared.JsonMsgpack.ToJson(view.Record.Span));
        Assert.False(reader.TryRead(out _));
    }

    [Fact]
    public void Json_parser_without_a_time_key_keeps_the_event_time()
    {
        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "json"));
        var reader = new EventReader(Run(Chunk(JsonLog), filter).Events);
        Assert.True(reader.TryRead(out var view));
        Assert.Equal(Time, view.Time);
    }

    [Fact]
    public void Parsed_time_replaces_only_the_time_of_a_metadata_event()
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePack.MessagePackWriter(buffer);
        var metadata = Gateway.Tests.Shared.JsonMsgpack.FromJson("""{"otlp":"x"}""");
        EventWriter.WriteEventV2(ref writer, Time, metadata, Gateway.Tests.Shared.JsonMsgpack.FromJson("""{"log":"{\"ts\":\"2021-03-04T05:06:07+0000\",\"a\":1}"}"""));
        writer.Flush();
        var chunk = new EventChunk("t", buffer.WrittenMemory.ToArray(), 1);

        var filter = ParserFilter(("Key_Name", "log"), ("Parser", "json_time"));
        var reader = new EventReader(Run(chunk, filter).Events);
        Assert.True(reader.TryRead(out var view));
        Assert.Equal(EventTime.FromDateTimeOffset(new DateTimeOffset(2021, 3, 4, 5, 6, 7, TimeSpan.Zero)), view.Time);
        Assert.Equal(metadata, view.Metadata.ToArray());
        // Time_Keep is off, so the parser drops the time key, as Fluent Bit does.
        Assert.Equal("""{"a":1}""", Gateway.Tests.Shared.JsonMsgpack.ToJson(view.Record.Span));
    }

    [Theory]
    [InlineData("Parser", "missing", "filters.conf:4", "unknown parser 'missing'")]
    [InlineData("Preserve_Key", "maybe", "filters.conf:5", "expected On or Off")]
    [InlineData("Bogus", "x", "filters.conf:5", "unknown option 'Bogus'")]
    public void Bad_options_name_the_file_and_line(string key, string value, string where, string message)
    {
        var ex = Assert.Throws<ConfigException>(() =>
            key == "Parser" ? ParserFilter(("Key_Name", "log"), (key, value)) : ParserFilter(("Key_Name", "log"), ("Parser", "json"), (key, value)));
        Assert.Equal(where, ex.Location.ToString());
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_key_name_or_parser_is_a_config_error()
    {
        Assert.Contains("Key_Name is required", Assert.Throws<ConfigException>(() => ParserFilter(("Parser", "json"))).Message, StringComparison.Ordinal);
        Assert.Contains("at least one Parser", Assert.Throws<ConfigException>(() => ParserFilter(("Key_Name", "log"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_filter_services_the_parser_filter_is_a_config_error()
    {
        Assert.Throws<ConfigException>(() => FilterFactory.Create(Section(("Name", "parser"), ("Key_Name", "log"), ("Parser", "json"))));
        Assert.True(FilterFactory.NeedsServices("parser"));
    }
}
