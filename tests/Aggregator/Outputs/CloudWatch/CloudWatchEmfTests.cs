using System.Buffers;
using Gateway.Aggregator.Outputs.CloudWatch;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using MessagePack;
using static Gateway.Aggregator.Tests.Outputs.CloudWatch.CloudWatchTestData;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

/// <summary>
/// <c>log_format json/emf</c>, <c>metric_namespace</c> and <c>metric_dimensions</c> as Fluent Bit's
/// out_cloudwatch_logs applies them: records of its cpu and mem inputs become EMF documents (pack_emf_payload),
/// every other record — everything forwarded — goes as its JSON with the <c>x-amzn-logs-format</c> header.
/// </summary>
public sealed class CloudWatchEmfTests : IAsyncLifetime
{
    private const long Seconds = 1_764_100_000;
    private readonly FakeCloudWatchLogsServer _fake = new();

    public Task InitializeAsync() => _fake.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    [Theory]
    [InlineData("ec2_instance_id", new[] { "ec2_instance_id" })]
    [InlineData("a,b;c", new[] { "a|b", "c" })]
    [InlineData(" a , b ;; c ", new[] { "a|b", "c" })]
    [InlineData("", new string[0])]
    public void Metric_dimensions_are_sets_separated_by_semicolons_of_keys_separated_by_commas(string value, string[] expected) =>
        Assert.Equal(expected, CloudWatchEmfEncoder.ParseDimensions(value).Select(set => string.Join('|', set)));

    [Theory]
    [InlineData("cpu", "Cpu")]
    [InlineData("mem", "Mem")]
    [InlineData("forward", "None")]
    [InlineData("tail", "None")]
    [InlineData(null, "None")]
    public void Only_the_cpu_and_mem_inputs_make_emf_records(string? inputPlugin, string expected) =>
        Assert.Equal(expected, CloudWatchEmfEncoder.SourceOf(inputPlugin).ToString());

    [Fact]
    public void A_cpu_record_becomes_an_emf_document_with_the_namespace_dimensions_and_percent_metrics()
    {
        var encoder = new CloudWatchEmfEncoder("node-metrics", CloudWatchEmfEncoder.ParseDimensions("ec2_instance_id;az,ec2_instance_id"), FluentJsonFlags.None);
        var record = Record((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(5);
            w.Write("cpu_p");
            w.Write(12.5);
            w.Write("user_p");
            w.Write(10.0);
            w.Write("system_p");
            w.Write(2.5);
            w.Write("cpu0.p_cpu");
            w.Write(12.5);
            w.Write("ec2_instance_id");
            w.Write("i-0123456789abcdef0");
        });

        Assert.Equal(
            """{"_aws":{"Timestamp":1764100000000,"CloudWatchMetrics":[{"Namespace":"node-metrics","Dimensions":[["ec2_instance_id"],["az","ec2_instance_id"]],"Metrics":[""" +
            """{"Name":"cpu_p","Unit":"Percent"},{"Name":"user_p","Unit":"Percent"},{"Name":"system_p","Unit":"Percent"}]}]},"cpu_p":12""" +
            """.5,"user_p":10.0,"system_p":2.5,"cpu0.p_cpu":12.5,"ec2_instance_id":"i-0123456789abcdef0"}""",
            Encode(encoder, record, CloudWatchEmfSource.Cpu));
    }

    [Fact]
    public void A_mem_record_without_metric_settings_gets_the_default_namespace_no_dimensions_and_byte_metrics()
    {
        var encoder = new CloudWatchEmfEncoder(null, CloudWatchEmfEncoder.ParseDimensions(null), FluentJsonFlags.None);
        var record = Record((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(6);
            w.Write("Mem.total");
            w.Write(16_000_000);
            w.Write("Mem.used");
            w.Write(9_000_000);
            w.Write("Mem.free");
            w.Write(7_000_000);
            w.Write("Swap.total");
            w.Write(0);
            w.Write("Swap.used");
            w.Write(0);
            w.Write("Swap.free");
            w.Write(0);
        });

        Assert.Equal(
            """{"_aws":{"Timestamp":1764100000000,"CloudWatchMetrics":[{"Namespace":"fluent-bit-metrics","Dimensions":[],"Metrics":[""" +
            """{"Name":"Mem.total","Unit":"Bytes"},{"Name":"Mem.used","Unit":"Bytes"},{"Name":"Mem.free","Unit":"Bytes"},""" +
            """{"Name":"Swap.total","Unit":"Bytes"},{"Name":"Swap.used","Unit":"Bytes"},{"Name":"Swap.free","Unit":"Bytes"}]}]},"Mem.total":16000000""" +
            ""","Mem.used":9000000,"Mem.free":7000000,"Swap.total":0,"Swap.used":0,"Swap.free":0}""",
            Encode(encoder, record, CloudWatchEmfSource.Mem));
    }

    [Fact]
    public void A_metric_record_missing_keys_lists_only_the_metrics_it_has_and_container_keys_are_stepped_over()
    {
        var encoder = new CloudWatchEmfEncoder("ns", [], FluentJsonFlags.None);
        var record = Record((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(2);
            w.Write("system_p");
            w.Write(1);
            w.WriteArrayHeader(1); // a (strange) array key, as msgpack allows
            w.Write("cpu_p");
            w.Write(2);
        });

        Assert.Equal(
            """{"_aws":{"Timestamp":1764100000000,"CloudWatchMetrics":[{"Namespace":"ns","Dimensions":[],"Metrics":[{"Name":"system_p","Unit":"Percent"}]}]},"system_p":1,["cpu_p"]:2}""",
            Encode(encoder, record, CloudWatchEmfSource.Cpu));
    }

    [Fact]
    public async Task A_forwarded_record_goes_unchanged_with_the_json_emf_header()
    {
        await using var output = Output(WithEndpoint(EmfSection(), _fake.Endpoint));
        var now = NowMs;

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(CpuChunk(now), default));

        Assert.Equal("json/emf", _fake.LastLogsFormat);
        var message = Assert.Single(_fake.Events("metrics", "node-cpu.local")).Message;
        Assert.Equal("""{"cpu_p":12.5,"user_p":10.0,"system_p":2.5}""", message);
    }

    [Fact]
    public async Task A_cpu_input_chunk_is_delivered_as_an_emf_document_at_its_second()
    {
        await using var output = Output(WithEndpoint(EmfSection(), _fake.Endpoint));
        output.EmfSourceOf = _ => CloudWatchEmfSource.Cpu;
        var now = NowMs;

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(CpuChunk(now), default));

        var stored = Assert.Single(_fake.Events("metrics", "node-cpu.local"));
        Assert.Equal(now, stored.Timestamp);
        Assert.Equal(
            $$"""{"_aws":{"Timestamp":{{now / 1000 * 1000}},"CloudWatchMetrics":[{"Namespace":"gateway/nodes","Dimensions":[["host"]],"Metrics":[""" +
            """{"Name":"cpu_p","Unit":"Percent"},{"Name":"user_p","Unit":"Percent"},{"Name":"system_p","Unit":"Percent"}]}]},"cpu_p":12.5,"user_p":10.0,"system_p":2.5}""",
            stored.Message);
        Assert.Equal("json/emf", _fake.LastLogsFormat);
    }

    [Fact]
    public async Task Log_key_wins_over_emf_as_in_fluent_bit()
    {
        var section = WithEndpoint(EmfSection(("log_key", "cpu_p")), _fake.Endpoint);
        await using var output = Output(section);
        output.EmfSourceOf = _ => CloudWatchEmfSource.Cpu;

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(CpuChunk(NowMs), default));

        Assert.Equal("12.5", Assert.Single(_fake.Events("metrics", "node-cpu.local")).Message);
    }

    private static Gateway.Engine.Config.ConfigSection EmfSection(params (string Key, string Value)[] extra) =>
        Section(
            "cloudwatch_logs",
            [
                ("region", FakeCloudWatchLogsServer.Region),
                ("log_group_name", "metrics"),
                ("log_stream_prefix", "node-"),
                ("auto_create_group", "true"),
                ("log_format", "json/emf"),
                ("metric_namespace", "gateway/nodes"),
                ("metric_dimensions", "host"),
                .. extra,
            ]);

    private static EventChunk CpuChunk(long timestampMs)
    {
        var record = Record((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(3);
            w.Write("cpu_p");
            w.Write(12.5);
            w.Write("user_p");
            w.Write(10.0);
            w.Write("system_p");
            w.Write(2.5);
        });
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        EventWriter.WriteEvent(ref writer, EventTime.FromUnixNanoseconds(timestampMs * 1_000_000), record);
        writer.Flush();
        return new EventChunk("cpu.local", buffer.WrittenSpan.ToArray(), 1);
    }

    private delegate void RecordWriter(ref MessagePackWriter writer);

    private static byte[] Record(RecordWriter write)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        write(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static string Encode(CloudWatchEmfEncoder encoder, byte[] record, CloudWatchEmfSource source)
    {
        var output = new ArrayBufferWriter<byte>();
        encoder.Write(record, Seconds, source, output, FluentJsonFlags.None);
        return System.Text.Encoding.UTF8.GetString(output.WrittenSpan);
    }
}
