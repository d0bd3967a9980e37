using System.Text;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator.Tests.Outputs;

public sealed class StdoutAndNullOutputTests
{
    private static async Task<string> Print(Gateway.Engine.Records.EventChunk chunk, params (string, string)[] options)
    {
        var stream = new MemoryStream();
        var section = OutputTestData.Section([("Name", "stdout"), ("Match", "*"), .. options]);
        await using var output = OutputFactory.Create(section, new OutputContext { InstanceName = "stdout.0", StandardOutput = stream });
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None));
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    [Fact]
    public async Task Default_format_matches_fluent_bit_stdout()
    {
        var text = await Print(OutputTestData.Chunk("app", count: 2));
        Assert.Equal(
            "[0] app: [[1700000000.500000000, {}], {\"log\"=>\"hi\", \"n\"=>42, \"f\"=>1.500000, \"b\"=>true, \"z\"=>nil}]\n" +
            "[1] app: [[1700000000.500000000, {}], {\"log\"=>\"hi\", \"n\"=>42, \"f\"=>1.500000, \"b\"=>true, \"z\"=>nil}]\n",
            text);
    }

    [Fact]
    public async Task Default_format_prints_v2_metadata()
    {
        var text = await Print(OutputTestData.Chunk("app", withMetadata: true));
        Assert.StartsWith("[0] app: [[1700000000.500000000, {\"stream\"=>\"stdout\"}], {\"log\"=>\"hi\"", text);
    }

    [Fact]
    public async Task Json_lines_puts_the_date_key_first()
    {
        var text = await Print(OutputTestData.Chunk("app", count: 2), ("Format", "json_lines"));
        const string Line = "{\"date\":1700000000.5,\"log\":\"hi\",\"n\":42,\"f\":1.5,\"b\":true,\"z\":null}\n";
        Assert.Equal(Line + Line, text);
    }

    [Fact]
    public async Task Json_format_is_one_array_with_iso8601_dates_and_a_custom_key()
    {
        var text = await Print(OutputTestData.Chunk("app"), ("Format", "json"), ("json_date_key", "@t"), ("json_date_format", "iso8601"));
        Assert.Equal("[{\"@t\":\"2023-11-14T22:13:20.500000Z\",\"log\":\"hi\",\"n\":42,\"f\":1.5,\"b\":true,\"z\":null}]\n", text);
    }

    [Fact]
    public async Task Json_date_key_off_removes_the_date_and_metadata_goes_under_internal()
    {
        var text = await Print(OutputTestData.Chunk("app", withMetadata: true), ("Format", "json_lines"), ("json_date_key", "off"));
        Assert.Equal("{\"__internal__\":{\"log_metadata\":{\"stream\":\"stdout\"}},\"log\":\"hi\",\"n\":42,\"f\":1.5,\"b\":true,\"z\":null}\n", text);
    }

    [Theory]
    [InlineData("epoch", "1700000000")]
    [InlineData("epoch_ms", "1700000000500")]
    [InlineData("java_sql_timestamp", "\"2023-11-14 22:13:20.500000\"")]
    public async Task Other_date_formats(string format, string expected)
    {
        var text = await Print(OutputTestData.Chunk("app"), ("Format", "json_lines"), ("json_date_format", format));
        Assert.StartsWith("{\"date\":" + expected + ",\"log\"", text);
    }

    [Fact]
    public async Task Null_output_counts_records_and_chunks()
    {
        await using var output = (NullOutput)OutputFactory.Create(OutputTestData.Section(("Name", "null")), new OutputContext { InstanceName = "null.0" });
        await output.FlushAsync(OutputTestData.Chunk(count: 3), CancellationToken.None);
        await output.FlushAsync(OutputTestData.Chunk(count: 4), CancellationToken.None);
        Assert.Equal(7, output.RecordCount);
        Assert.Equal(2, output.ChunkCount);
        Assert.Equal("null.0", output.Name);
    }

    [Fact]
    public void Unknown_plugin_is_a_config_error_at_the_name_line()
    {
        var ex = Assert.Throws<ConfigException>(() => OutputFactory.Create(OutputTestData.Section(("Match", "*"), ("Name", "kafkaa")), new OutputContext { InstanceName = "x.0" }));
        Assert.Equal(new ConfigLocation("test.conf", 11), ex.Location);
        Assert.Contains("unknown output plugin 'kafkaa'", ex.Message);
    }

    [Fact]
    public void Unknown_property_and_bad_values_are_config_errors()
    {
        var unknown = Assert.Throws<ConfigException>(() => OutputFactory.Create(OutputTestData.Section(("Name", "stdout"), ("Colour", "red")), new OutputContext { InstanceName = "s.0" }));
        Assert.Contains("unknown configuration property 'Colour'", unknown.Message);
        Assert.StartsWith("test.conf:11:", unknown.Message);

        var badFormat = Assert.Throws<ConfigException>(() => OutputFactory.Create(OutputTestData.Section(("Name", "stdout"), ("json_date_format", "rfc")), new OutputContext { InstanceName = "s.0" }));
        Assert.Contains("json_date_format", badFormat.Message);

        var badBool = Assert.Throws<ConfigException>(() => OutputFactory.Create(OutputTestData.Section(("Name", "file"), ("Mkdir", "maybe")), new OutputContext { InstanceName = "f.0" }));
        Assert.Contains("on/off", badBool.Message);
    }

    [Fact]
    public async Task Host_factory_names_instances_like_fluent_bit()
    {
        var create = OutputFactory.ForHost(Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using var first = create(OutputTestData.Section(("Name", "null")));
        await using var second = create(OutputTestData.Section(("Name", "null")));
        await using var aliased = create(OutputTestData.Section(("Name", "null"), ("Alias", "sink")));
        await using var other = create(OutputTestData.Section(("Name", "stdout")));
        Assert.Equal(["null.0", "null.1", "sink", "stdout.0"], new[] { first.Name, second.Name, aliased.Name, other.Name });
    }

    [Fact]
    public void Missing_name_is_a_config_error_at_the_section()
    {
        var ex = Assert.Throws<ConfigException>(() => OutputFactory.Create(OutputTestData.Section(("Match", "*")), new OutputContext { InstanceName = "x.0" }));
        Assert.Equal(new ConfigLocation("test.conf", 9), ex.Location);
    }
}
