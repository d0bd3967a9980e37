using Gateway.Aggregator.Outputs.CloudWatch;
using Gateway.Engine.Config;
using Microsoft.Extensions.Logging.Abstractions;
using static Gateway.Aggregator.Tests.Outputs.CloudWatch.CloudWatchTestData;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

public sealed class CloudWatchOutputOptionsTests
{
    [Fact]
    public void Stream_name_or_prefix_is_required()
    {
        var ex = Assert.Throws<ConfigException>(() => CloudWatchOutputFactory.ReadSettings(Section("cloudwatch_logs", ("region", "us-east-1"), ("log_group_name", "g")), NullLogger.Instance));
        Assert.Contains("log_stream_name", ex.Message);
    }

    [Fact]
    public void Name_and_prefix_together_are_refused_with_the_line()
    {
        var ex = Assert.Throws<ConfigException>(() => CloudWatchOutputFactory.ReadSettings(Section("cloudwatch_logs", ("region", "us-east-1"), ("log_group_name", "g"), ("log_stream_name", "s"), ("log_stream_prefix", "p")), NullLogger.Instance));
        Assert.Contains("test.conf:5", ex.Message);
    }

    [Theory]
    [InlineData("log_group_class", "COLD", "STANDARD")]
    [InlineData("log_format", "xml", "json/emf")]
    [InlineData("log_retention_days", "-3", "log_retention_days")]
    [InlineData("log_stream_template", "$(ecs_task_id)", "ECS")]
    [InlineData("batch_mem_limit", "lots", "batch_mem_limit")]
    [InlineData("batch_mem_limit", "512k", "batch_mem_limit")]
    public void Bad_values_name_key_and_expectation(string key, string value, string expected)
    {
        var section = Section("cloudwatch_logs", ("region", "us-east-1"), ("log_group_name", "g"), ("log_stream_prefix", "p-"), (key, value));
        var ex = Assert.Throws<ConfigException>(() => CloudWatchOutputFactory.ReadSettings(section, NullLogger.Instance));
        Assert.Contains(expected, ex.Message);
    }

    [Fact]
    public void Batch_memory_defaults_to_48_MiB_and_takes_fluent_bit_sizes()
    {
        Assert.Equal(48L << 20, CloudWatchOutputFactory.ReadSettings(Section("cloudwatch_logs", ("region", "us-east-1"), ("log_group_name", "g"), ("log_stream_prefix", "p-")), NullLogger.Instance).MaxHeldBytes);
        var settings = CloudWatchOutputFactory.ReadSettings(Section("cloudwatch_logs", ("region", "us-east-1"), ("log_group_name", "g"), ("log_stream_prefix", "p-"), ("batch_mem_limit", "96M")), NullLogger.Instance);
        Assert.Equal(96_000_000, settings.MaxHeldBytes); // Fluent Bit sizes are decimal (flb_utils_size_to_bytes)
    }

    [Fact]
    public void Options_are_read()
    {
        var settings = CloudWatchOutputFactory.ReadSettings(
            Section(
                "cloudwatch_logs",
                ("region", "eu-west-1"),
                ("log_group_name", "g"),
                ("log_stream_prefix", "p-"),
                ("log_format", "json/emf"),
                ("log_group_class", "infrequent_access"),
                ("log_retention_days", "30"),
                ("auto_create_group", "On"),
                ("role_arn", "arn:aws:iam::1:role/r"),
                ("external_id", "x"),
                ("endpoint", "logs.internal:4566"),
                ("sts_endpoint", "https://sts.internal"),
                ("Workers", "2")),
            NullLogger.Instance);

        Assert.Equal("json/emf", settings.LogFormat);
        Assert.Equal("INFREQUENT_ACCESS", settings.LogGroupClass);
        Assert.Equal(30, settings.RetentionDays);
        Assert.True(settings.AutoCreateGroup);
        Assert.Equal(new Uri("https://logs.internal:4566"), settings.Endpoint);
        Assert.Equal(2, settings.Workers);
        Assert.True(settings.Stream.AppendTag);
    }

    [Fact]
    public void Config_reader_keeps_node_variables_for_the_output_and_substitutes_the_rest()
    {
        const string text = """
            @SET NODE_NAME=pinned
            [OUTPUT]
                Name              cloudwatch_logs
                region            ${AWS_REGION}
                log_group_name    /eks/${CLUSTER_NAME}/pipeline
                log_stream_prefix ${HOST_NAME}-
                log_stream_name2  ${NODE_NAME}
            """;
        var env = new Dictionary<string, string?> { ["AWS_REGION"] = "us-west-2", ["CLUSTER_NAME"] = "prod", ["HOST_NAME"] = "aggregator-0" };
        var section = ClassicConfigReader.Parse(text, "node.conf", env).OfKind(SectionKind.Output).Single();

        Assert.Equal("aggregator-0-", section.Find("log_stream_prefix")!.Value);
        Assert.Equal("${HOST_NAME}-", section.Find("log_stream_prefix")!.NodeTemplate);
        Assert.Null(section.Find("log_group_name")!.NodeTemplate);
        Assert.Equal("pinned", section.Find("log_stream_name2")!.NodeTemplate); // an explicit @SET wins
    }

    [Fact]
    public void Output_factory_knows_both_plugin_names()
    {
        Assert.Contains("cloudwatch_logs", Gateway.Aggregator.Outputs.OutputFactory.PluginNames);
        Assert.Contains("cloudwatch", Gateway.Aggregator.Outputs.OutputFactory.PluginNames);
    }
}
