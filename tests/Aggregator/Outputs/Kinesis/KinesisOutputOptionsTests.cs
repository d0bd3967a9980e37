using System.Text;
using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Outputs.Kinesis;
using Gateway.Engine.Aws;
using Gateway.Engine.Config;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Outputs.Kinesis;

/// <summary>Option parsing of the four Firehose/Kinesis plugin names, the time format, and reading the service's answers.</summary>
public sealed class KinesisOutputOptionsTests
{
    private static KinesisOutputSettings Read(string plugin, params (string, string)[] entries) =>
        KinesisOutputFactory.ReadSettings(KinesisTestData.Section(plugin, entries), NullLogger.Instance);

    [Fact]
    public void The_seed_output_section_reads_as_a_firehose_output_with_fluent_bit_defaults()
    {
        var settings = Read("firehose", ("Match", "kube.*"), ("region", "ap-northeast-2"), ("delivery_stream", "eks-fluent-bit-study"));

        Assert.Equal(KinesisService.Firehose, settings.Service);
        Assert.Equal("ap-northeast-2", settings.Region);
        Assert.Equal("eks-fluent-bit-study", settings.StreamName);
        Assert.Null(settings.TimeKey);
        Assert.Null(settings.LogKey);
        Assert.Equal(KinesisCompression.None, settings.Compression);
        Assert.True(settings.AppendNewline);
        Assert.True(settings.AutoRetryRequests);
        Assert.Equal(500, settings.MaxRecords);
        Assert.Equal(4 * 1024 * 1024, settings.MaxRequestBytes);
        Assert.Equal(1_024_000, settings.MaxRecordBytes);
    }

    [Fact]
    public void Streams_names_read_the_stream_key_and_kinesis_limits()
    {
        var settings = Read("kinesis_streams", ("region", "us-east-1"), ("stream", "logs"), ("compression", "zstd"), ("time_key", "ts"));

        Assert.Equal(KinesisService.Streams, settings.Service);
        Assert.Equal("logs", settings.StreamName);
        Assert.Equal(KinesisCompression.Zstd, settings.Compression);
        Assert.Equal(5 * 1024 * 1024, settings.MaxRequestBytes);
        Assert.Equal(1024 * 1024, settings.MaxRecordBytes);
        Assert.False(Read("kinesis", ("region", "us-east-1"), ("stream", "logs")).AppendNewline);
    }

    [Theory]
    [InlineData("kinesis_firehose", "region", "", "test.conf:1", "'region' is required")]
    [InlineData("kinesis_firehose", "compression", "snappy", "test.conf:4", "expected gzip or zstd")]
    [InlineData("kinesis_firehose", "time_key_format", "%Y-%Q", "test.conf:4", "'%Q'")]
    [InlineData("kinesis_firehose", "partition_key", "pod", "test.conf:4", "Kinesis Data Streams only")]
    [InlineData("firehose", "replace_dots", "_", "test.conf:4", "'replace_dots' is not supported")]
    [InlineData("kinesis_streams", "delivery_stream", "x", "test.conf:4", "takes 'stream'")]
    public void Bad_options_fail_at_startup_naming_file_and_line(string plugin, string key, string value, string location, string message)
    {
        var streamKey = plugin.StartsWith("kinesis_streams", StringComparison.Ordinal) ? "stream" : "delivery_stream";
        (string, string)[] entries = key == "region"
            ? [(streamKey, "s")]
            : [("region", "us-east-1"), (streamKey, "s"), (key, value)];
        if (key == "delivery_stream")
        {
            entries = [("region", "us-east-1"), ("stream", "s"), (key, value)];
        }

        var error = Assert.Throws<ConfigException>(() => Read(plugin, entries));
        Assert.Contains(location, error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_output_factory_and_the_plugin_catalog_know_all_four_names()
    {
        foreach (var plugin in new[] { "kinesis_firehose", "firehose", "kinesis_streams", "kinesis" })
        {
            Assert.Contains(plugin, OutputFactory.PluginNames);
            Assert.Equal(PluginStatus.Supported, PluginCatalog.Default.GetStatus(PluginKind.Output, plugin));
            var streamKey = plugin.StartsWith("kinesis", StringComparison.Ordinal) && plugin != "kinesis_firehose" ? "stream" : "delivery_stream";
            var output = OutputFactory.Create(KinesisTestData.Section(plugin, ("region", "us-east-1"), (streamKey, "s")), new OutputContext { InstanceName = plugin + ".0" });
            Assert.IsType<KinesisOutput>(output);
            output.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [Theory]
    [InlineData("%Y-%m-%dT%H:%M:%S", "2019-12-28T08:19:53")]
    [InlineData("%Y-%m-%dT%H:%M:%S.%3N", "2019-12-28T08:19:53.704")]
    [InlineData("%s.%9N", "1577521193.704659587")]
    [InlineData("%d/%b/%Y:%H:%M:%S %z", "28/Dec/2019:08:19:53 +0000")]
    [InlineData("%F %T.%L %Z 100%%", "2019-12-28 08:19:53.704659587 GMT 100%")]
    [InlineData("%a %A %B %j %e %y", "Sat Saturday December 362 28 19")]
    public void Time_key_format_is_strftime_in_utc_with_fluent_bits_precision_extensions(string pattern, string expected)
    {
        Assert.Equal(expected, AwsTimeFormat.Parse(pattern).Format(new EventTime(1_577_521_193, 704_659_587)));
    }

    /// <summary>The rest of the conversions, at times where padding, the 12-hour clock and the week's ends show (values from glibc strftime).</summary>
    [Theory]
    [InlineData(1_583_035_506u, "%C %y %m %d|%e|%k|%l|%I %p|%u %w|%R|%D|%h|%j", "20 20 03 01| 1| 4| 4|04 AM|7 0|04:05|03/01/20|Mar|061")]
    [InlineData(1_626_049_809u, "%C %y %m %d|%e|%k|%l|%I %p|%u %w|%R|%D|%h|%j", "20 21 07 12|12| 0|12|12 AM|1 1|00:30|07/12/21|Jul|193")]
    [InlineData(1_257_249_600u, "%C %y %m %d|%e|%k|%l|%I %p|%u %w|%R|%D|%h|%j", "20 09 11 03| 3|12|12|12 PM|2 2|12:00|11/03/09|Nov|307")]
    [InlineData(1_257_249_600u, "%H%n%M%t%S.%3N", "12\n00\t00.000")]
    public void Time_key_format_pads_and_names_like_strftime(uint seconds, string pattern, string expected)
    {
        Assert.Equal(expected, AwsTimeFormat.Parse(pattern).Format(new EventTime(seconds, 0)));
    }

    [Fact]
    public void Answers_name_the_failed_records_and_an_answer_without_the_list_fails_them_all()
    {
        var firehose = """{"FailedPutCount":1,"Encrypted":false,"RequestResponses":[{"RecordId":"a"},{"ErrorCode":"ServiceUnavailableException","ErrorMessage":"Slow down."},{"RecordId":"c"}]}""";
        var result = KinesisRecordsClient.ParseAnswer(Ok(firehose), firehose: true, 3);
        Assert.Equal(1, result.FailedCount);
        Assert.Equal(new string?[] { null, "ServiceUnavailableException", null }, result.ErrorCodes);
        Assert.Equal("ServiceUnavailableException: Slow down.", result.FirstErrorMessage);

        var kinesis = """{"FailedRecordCount":0,"Records":[{"SequenceNumber":"1","ShardId":"shardId-000000000000"}]}""";
        Assert.Equal(0, KinesisRecordsClient.ParseAnswer(Ok(kinesis), firehose: false, 1).FailedCount);

        var truncated = """{"FailedRecordCount":2}""";
        var unknown = KinesisRecordsClient.ParseAnswer(Ok(truncated), firehose: false, 2);
        Assert.Equal(2, unknown.FailedCount);
        Assert.All(unknown.ErrorCodes, Assert.NotNull);

        static AwsJsonResponse Ok(string body) => AwsErrorParser.Parse(200, Encoding.UTF8.GetBytes(body), null);
    }
}
