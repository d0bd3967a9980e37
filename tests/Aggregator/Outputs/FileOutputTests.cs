using Gateway.Aggregator.Outputs;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;

namespace Gateway.Aggregator.Tests.Outputs;

public sealed class FileOutputTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "gw-file-" + Guid.NewGuid().ToString("N"));

    public FileOutputTests()
    {
        Directory.CreateDirectory(_directory);
    }

    public void Dispose()
    {
        Directory.Delete(_directory, recursive: true);
    }

    private async Task<string> FlushAndRead(EventChunk chunk, params (string, string)[] options)
    {
        var section = OutputTestData.Section([("Name", "file"), ("Match", "*"), ("Path", _directory), .. options]);
        await using var output = OutputFactory.Create(section, new OutputContext { InstanceName = "file.0", BaseDirectory = _directory });
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None));
        var file = options.FirstOrDefault(o => o.Item1 == "File").Item2 ?? chunk.Tag;
        return await File.ReadAllTextAsync(Path.Combine(_directory, file));
    }

    [Fact]
    public async Task Default_format_is_tag_then_float_time_and_json()
    {
        var text = await FlushAndRead(OutputTestData.Chunk("app"));
        Assert.Equal("app: [1700000000.500000, {\"log\":\"hi\",\"n\":42,\"f\":1.5,\"b\":true,\"z\":null}]\n", text);
    }

    [Fact]
    public async Task Unicode_is_escaped_by_default_and_raw_when_the_service_says_so()
    {
        var record = new System.Buffers.ArrayBufferWriter<byte>();
        Gateway.Engine.Records.EventWriter.WriteEvent(record, OutputTestData.Time, [new("msg", "héllo")]);
        var chunk = new EventChunk("u", record.WrittenSpan.ToArray(), 1);
        var section = OutputTestData.Section(("Name", "file"), ("Path", _directory), ("Format", "plain"));

        await using (var escaped = OutputFactory.Create(section, new OutputContext { InstanceName = "file.0" }))
        {
            await escaped.FlushAsync(chunk, CancellationToken.None);
        }

        await using (var raw = OutputFactory.Create(section, new OutputContext { InstanceName = "file.1", JsonEscapeUnicode = false }))
        {
            await raw.FlushAsync(chunk, CancellationToken.None);
        }

        Assert.Equal("{\"msg\":\"h\\u00e9llo\"}\n{\"msg\":\"héllo\"}\n", await File.ReadAllTextAsync(Path.Combine(_directory, "u")));
    }

    [Fact]
    public async Task Plain_format_is_one_json_record_per_line()
    {
        var text = await FlushAndRead(OutputTestData.Chunk("app", count: 2), ("Format", "plain"));
        Assert.Equal("{\"log\":\"hi\",\"n\":42,\"f\":1.5,\"b\":true,\"z\":null}\n{\"log\":\"hi\",\"n\":42,\"f\":1.5,\"b\":true,\"z\":null}\n", text);
    }

    [Fact]
    public async Task Csv_format_prints_time_and_values_in_msgpack_text()
    {
        var text = await FlushAndRead(OutputTestData.Chunk("app"), ("Format", "csv"));
        Assert.Equal("1700000000.500000000,\"hi\",42,1.500000,true,nil\n", text);
    }

    [Fact]
    public async Task Csv_column_names_come_once_for_a_new_file_and_delimiter_names_are_understood()
    {
        var text = await FlushAndRead(OutputTestData.Chunk("app", count: 2), ("Format", "csv"), ("csv_column_names", "on"), ("Delimiter", "tab"));
        Assert.Equal(
            "timestamp\t\"log\"\t\"n\"\t\"f\"\t\"b\"\t\"z\"\n1700000000.500000000\t\"hi\"\t42\t1.500000\ttrue\tnil\n1700000000.500000000\t\"hi\"\t42\t1.500000\ttrue\tnil\n",
            text);
    }

    [Fact]
    public async Task Ltsv_format_uses_quoted_labels()
    {
        var text = await FlushAndRead(OutputTestData.Chunk("app"), ("Format", "ltsv"));
        Assert.Equal("\"time\":1700000000.500000\t\"log\":\"hi\"\t\"n\":42\t\"f\":1.500000\t\"b\":true\t\"z\":nil\n", text);
    }

    [Fact]
    public async Task Ltsv_delimiters_can_be_changed()
    {
        var text = await FlushAndRead(OutputTestData.Chunk("app"), ("Format", "ltsv"), ("Delimiter", "comma"), ("Label_Delimiter", "space"));
        Assert.StartsWith("\"time\" 1700000000.500000,\"log\" \"hi\",", text);
    }

    [Fact]
    public async Task Template_fills_time_and_keys_and_keeps_unknown_placeholders()
    {
        var text = await FlushAndRead(OutputTestData.Chunk("app"), ("Format", "template"), ("Template", "{time} {log} n={n} {missing} {b"));
        Assert.Equal("1700000000.500000 hi n=42 {missing} {b\n", text);
    }

    [Fact]
    public async Task Msgpack_format_writes_the_chunk_bytes()
    {
        var chunk = OutputTestData.Chunk("app", count: 3);
        var section = OutputTestData.Section(("Name", "file"), ("Path", _directory), ("Format", "msgpack"));
        await using var output = OutputFactory.Create(section, new OutputContext { InstanceName = "file.0" });
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None));
        Assert.Equal(chunk.Events.ToArray(), await File.ReadAllBytesAsync(Path.Combine(_directory, "app")));
    }

    [Fact]
    public async Task Flushes_append_and_file_option_overrides_the_tag()
    {
        var section = OutputTestData.Section(("Name", "file"), ("Path", _directory), ("File", "out.log"), ("Format", "plain"));
        await using var output = OutputFactory.Create(section, new OutputContext { InstanceName = "file.0" });
        await output.FlushAsync(OutputTestData.Chunk("a"), CancellationToken.None);
        await output.FlushAsync(OutputTestData.Chunk("b"), CancellationToken.None);
        var lines = await File.ReadAllLinesAsync(Path.Combine(_directory, "out.log"));
        Assert.Equal(2, lines.Length);
        Assert.False(File.Exists(Path.Combine(_directory, "a")));
    }

    [Fact]
    public async Task Mkdir_creates_the_directory_and_without_it_the_chunk_fails()
    {
        var nested = Path.Combine(_directory, "x", "y");
        var without = OutputTestData.Section(("Name", "file"), ("Path", nested));
        await using (var output = OutputFactory.Create(without, new OutputContext { InstanceName = "file.0" }))
        {
            Assert.Equal(FlushResult.Error, await output.FlushAsync(OutputTestData.Chunk("app"), CancellationToken.None));
        }

        var with = OutputTestData.Section(("Name", "file"), ("Path", nested), ("Mkdir", "on"));
        await using (var output = OutputFactory.Create(with, new OutputContext { InstanceName = "file.1" }))
        {
            Assert.Equal(FlushResult.Ok, await output.FlushAsync(OutputTestData.Chunk("app"), CancellationToken.None));
        }

        Assert.True(File.Exists(Path.Combine(nested, "app")));
    }

    [Fact]
    public async Task Malformed_chunk_is_an_error_and_writes_nothing()
    {
        var section = OutputTestData.Section(("Name", "file"), ("Path", _directory));
        await using var output = OutputFactory.Create(section, new OutputContext { InstanceName = "file.0" });
        var bad = new EventChunk("bad", new byte[] { 0x92, 0x01 }, 1);
        Assert.Equal(FlushResult.Error, await output.FlushAsync(bad, CancellationToken.None));
        Assert.Equal(string.Empty, File.Exists(Path.Combine(_directory, "bad")) ? await File.ReadAllTextAsync(Path.Combine(_directory, "bad")) : string.Empty);
    }

    [Fact]
    public void Unknown_format_is_a_config_error_with_its_line()
    {
        var section = OutputTestData.Section(("Name", "file"), ("Format", "yaml"));
        var ex = Assert.Throws<ConfigException>(() => OutputFactory.Create(section, new OutputContext { InstanceName = "file.0" }));
        Assert.Equal(new ConfigLocation("test.conf", 11), ex.Location);
        Assert.Contains("yaml", ex.Message);
    }
}
