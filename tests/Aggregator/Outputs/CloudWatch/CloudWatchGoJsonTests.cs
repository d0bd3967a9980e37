using System.Buffers;
using System.Text;
using Gateway.Aggregator.Outputs.CloudWatch;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Tests.Shared;
using MessagePack;
using static Gateway.Aggregator.Tests.Outputs.CloudWatch.CloudWatchTestData;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

/// <summary>
/// The <c>cloudwatch</c> (Go) plugin's messages are jsoniter's standard-library-compatible JSON of the record:
/// sorted keys, HTML-safe escaping, Go number formatting. <c>cloudwatch_logs</c> keeps Fluent Bit's record order.
/// </summary>
public sealed class CloudWatchGoJsonTests : IAsyncLifetime
{
    private readonly FakeCloudWatchLogsServer _fake = new();

    public Task InitializeAsync() => _fake.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public void Keys_are_sorted_by_bytes_at_every_level_and_the_last_repeated_key_wins()
    {
        Assert.Equal(
            """{"Kubernetes":{"host":"n1","pod_name":"p"},"docker":{"container_id":"d0c"},"log":"x","log_processed":{"a":[{"y":1,"z":2}],"b":2},"stream":"stdout"}""",
            Go("""{"stream":"stdout","log":"x","log_processed":{"b":2,"a":[{"z":2,"y":1}]},"docker":{"container_id":"d0c"},"Kubernetes":{"pod_name":"p","host":"n1"}}"""));
        Assert.Equal("""{"a":2,"b":3}""", Go("""{"b":3,"a":1,"a":2}"""));
    }

    [Fact]
    public void Scalars_are_written_as_go_does_and_nesting_past_the_limit_is_refused_at_its_offset()
    {
        Assert.Equal("[42,-7,9223372036854775807,true,false,null]", Go("[42,-7,9223372036854775807,true,false,null]"));

        var tooDeep = new byte[FluentJson.MaxDepth + 2];
        tooDeep.AsSpan(0, FluentJson.MaxDepth + 1).Fill(0x91);
        tooDeep[^1] = 0xc0;
        var refused = Assert.Throws<MsgpackFormatException>(() => CloudWatchGoJson.WriteValue(tooDeep, new ArrayBufferWriter<byte>()));
        Assert.Equal(FluentJson.MaxDepth + 1, refused.Offset);
    }

    [Fact]
    public void Strings_are_escaped_as_go_does_with_html_escaping()
    {
        Assert.Equal(
            "\"\\u003cb\\u003e \\u0026 \\\"q\\\" \\\\ \\n\\r\\t \\u0001 \\u001f é日本 \\u2028\\u2029\"",
            Go("\"<b> & \\\"q\\\" \\\\ \\n\\r\\t \\u0001 \\u001f é日本 \\u2028\\u2029\""));
    }

    [Fact]
    public void Invalid_utf8_becomes_one_replacement_escape_per_byte()
    {
        Assert.Equal("\"a\\ufffdb\\ufffd\\ufffd\"", Go(Packed((ref MessagePackWriter w) => w.WriteString(new byte[] { (byte)'a', 0xff, (byte)'b', 0xe2, 0x82 }))));
    }

    [Theory]
    [InlineData(1.0, "1")]
    [InlineData(12.5, "12.5")]
    [InlineData(-0.5, "-0.5")]
    [InlineData(0.1, "0.1")]
    [InlineData(0.000001, "0.000001")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(1.5e-10, "1.5e-10")]
    [InlineData(123456789012345680000.0, "123456789012345680000")]
    [InlineData(1e21, "1e+21")]
    [InlineData(2.5e100, "2.5e+100")]
    [InlineData(0.0, "0")]
    public void Floats_print_as_go_prints_them(double value, string expected) =>
        Assert.Equal(expected, Go(Packed((ref MessagePackWriter w) => w.Write(value))));

    [Fact]
    public void Integers_and_integer_keys_print_as_decimal()
    {
        Assert.Equal("""{"1":-5,"k":18446744073709551615}""", Go(Packed((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("k");
            w.Write(ulong.MaxValue);
            w.Write(1);
            w.Write(-5);
        })));
    }

    [Fact]
    public void NaN_cannot_be_marshalled()
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.False(CloudWatchGoJson.WriteValue(Packed((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("v");
            w.Write(double.NaN);
        }), output));
    }

    [Theory]
    [InlineData("cloudwatch", """{"log":"hi","stream":"stdout","time":"2026-11-25T16:00:00Z"}""")]
    [InlineData("cloudwatch_logs", """{"stream":"stdout","time":"2026-11-25T16:00:00Z","log":"hi"}""")]
    public async Task The_go_plugin_sorts_the_message_keys_and_the_c_plugin_keeps_record_order(string plugin, string expected)
    {
        var section = Section(plugin, ("region", FakeCloudWatchLogsServer.Region), ("log_group_name", "g"), ("log_stream_name", "s"), ("auto_create_group", "true"));
        await using var output = Output(WithEndpoint(section, _fake.Endpoint));
        var record = JsonMsgpack.FromJson("""{"stream":"stdout","time":"2026-11-25T16:00:00Z","log":"hi"}""");
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        EventWriter.WriteEvent(ref writer, EventTime.FromUnixNanoseconds(NowMs * 1_000_000), record);
        writer.Flush();

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(new EventChunk("app", buffer.WrittenSpan.ToArray(), 1), default));

        Assert.Equal(expected, Assert.Single(_fake.Events("g", "s")).Message);
    }

    [Fact]
    public async Task A_go_plugin_record_with_NaN_is_skipped_and_the_others_are_sent()
    {
        var section = Section("cloudwatch", ("region", FakeCloudWatchLogsServer.Region), ("log_group_name", "g"), ("log_stream_name", "s"), ("auto_create_group", "true"));
        await using var output = Output(WithEndpoint(section, _fake.Endpoint));
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        var now = NowMs;
        EventWriter.WriteEvent(ref writer, EventTime.FromUnixNanoseconds(now * 1_000_000), Packed((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("v");
            w.Write(double.NaN);
        }));
        EventWriter.WriteEvent(ref writer, EventTime.FromUnixNanoseconds(now * 1_000_000), JsonMsgpack.FromJson("""{"v":1}"""));
        writer.Flush();

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(new EventChunk("app", buffer.WrittenSpan.ToArray(), 2), default));

        Assert.Equal("""{"v":1}""", Assert.Single(_fake.Events("g", "s")).Message);
    }

    private delegate void PackAction(ref MessagePackWriter writer);

    private static byte[] Packed(PackAction write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static string Go(string json) => Go(JsonMsgpack.FromJson(json));

    private static string Go(byte[] msgpack)
    {
        var output = new ArrayBufferWriter<byte>();
        Assert.True(CloudWatchGoJson.WriteValue(msgpack, output));
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
