using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Outputs.S3;
using Gateway.Engine.Config;
using Gateway.Engine.Json;
using static Gateway.Aggregator.Tests.Outputs.CloudWatch.CloudWatchTestData;

namespace Gateway.Aggregator.Tests.Outputs.S3;

public sealed class S3OutputOptionsTests
{
    [Fact]
    public void Defaults_are_fluent_bits()
    {
        var settings = S3OutputFactory.ReadSettings(Section("s3", ("bucket", "b")), "/work");

        Assert.Equal("us-east-1", settings.Region);
        Assert.Equal(S3KeyFormat.DefaultFormat, settings.KeyFormat.Format);
        Assert.Equal(100_000_000, settings.TotalFileSize);
        Assert.Equal(5_242_880, settings.UploadChunkSize);
        Assert.Equal(TimeSpan.FromMinutes(10), settings.UploadTimeout);
        Assert.Equal("/tmp/fluent-bit/s3", settings.StoreDirectory);
        Assert.Equal("date", settings.JsonDateKey);
        Assert.Equal(JsonDateFormat.Iso8601, settings.JsonDateFormat);
        Assert.True(settings.PreserveDataOrdering);
        Assert.Equal(S3Compression.None, settings.Compression);
        Assert.False(settings.UsePutObject);
    }

    [Fact]
    public void Options_are_read()
    {
        var settings = S3OutputFactory.ReadSettings(
            Section(
                "s3",
                ("bucket", "logs"),
                ("region", "eu-west-1"),
                ("endpoint", "http://127.0.0.1:4568"),
                ("s3_key_format", "/k/$TAG[1]/$UUID"),
                ("s3_key_format_tag_delimiters", ".-"),
                ("static_file_path", "on"),
                ("total_file_size", "50M"),
                ("upload_chunk_size", "6M"),
                ("upload_timeout", "2m"),
                ("compression", "zstd"),
                ("content_type", "application/json"),
                ("store_dir", "s3store"),
                ("store_dir_limit_size", "1G"),
                ("send_content_md5", "true"),
                ("log_key", "log"),
                ("json_date_key", "false"),
                ("json_date_format", "epoch"),
                ("preserve_data_ordering", "off"),
                ("retry_limit", "3"),
                ("canned_acl", "bucket-owner-full-control"),
                ("storage_class", "standard_ia"),
                ("role_arn", "arn:aws:iam::1:role/r"),
                ("external_id", "x"),
                ("sts_endpoint", "https://sts.internal"),
                ("profile", "p")),
            "/work");

        Assert.Equal(new Uri("http://127.0.0.1:4568"), settings.Endpoint);
        Assert.Equal(".-", settings.KeyFormat.TagDelimiters);
        Assert.True(settings.KeyFormat.StaticFilePath);
        Assert.Equal(50_000_000, settings.TotalFileSize);
        Assert.Equal(6_000_000, settings.UploadChunkSize);
        Assert.Equal(TimeSpan.FromMinutes(2), settings.UploadTimeout);
        Assert.Equal(S3Compression.Zstd, settings.Compression);
        Assert.Equal("zstd", settings.ContentEncoding);
        Assert.Equal("/work/s3store", settings.StoreDirectory);
        Assert.Equal(1_000_000_000, settings.StoreDirectoryLimit);
        Assert.True(settings.SendContentMd5);
        Assert.Equal("log", settings.LogKey);
        Assert.Null(settings.JsonDateKey);
        Assert.Equal(JsonDateFormat.Epoch, settings.JsonDateFormat);
        Assert.False(settings.PreserveDataOrdering);
        Assert.Equal(3, settings.RetryLimit);
        Assert.Equal("bucket-owner-full-control", settings.CannedAcl);
        Assert.Equal("STANDARD_IA", settings.StorageClass);
        Assert.Equal("arn:aws:iam::1:role/r", settings.RoleArn);
        Assert.Equal("p", settings.Profile);
    }

    [Theory]
    [InlineData("upload_chunk_size", "5M", "5,242,880")]
    [InlineData("upload_chunk_size", "60M", "50M")]
    [InlineData("compression", "parquet", "gzip or zstd")]
    [InlineData("storage_class", "COLD", "storage class")]
    [InlineData("canned_acl", "everyone", "canned ACL")]
    [InlineData("json_date_format", "rfc", "iso8601")]
    [InlineData("upload_timeout", "soon", "duration")]
    [InlineData("endpoint", "ftp://x", "http(s)")]
    [InlineData("no_such_key", "1", "unknown configuration property 'no_such_key'")]
    public void Bad_values_name_the_key_and_the_line(string key, string value, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => S3OutputFactory.ReadSettings(Section("s3", ("bucket", "b"), (key, value)), "/"));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Contains("test.conf:3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Bucket_is_required_and_the_chunk_must_fit_the_file()
    {
        Assert.Contains("'bucket' is required", Assert.Throws<ConfigException>(() => S3OutputFactory.ReadSettings(Section("s3"), "/")).Message);
        var ex = Assert.Throws<ConfigException>(() => S3OutputFactory.ReadSettings(Section("s3", ("bucket", "b"), ("total_file_size", "6M"), ("upload_chunk_size", "7M")), "/"));
        Assert.Contains("upload_chunk_size can not be larger than total_file_size", ex.Message);
    }

    [Fact]
    public void Dry_run_builds_the_output_without_touching_store_dir()
    {
        var storeDir = Path.Combine(Path.GetTempPath(), "gateway-s3-dry-" + Guid.NewGuid().ToString("N"));
        var output = OutputFactory.Create(
            Section("s3", ("bucket", "b"), ("store_dir", storeDir), ("endpoint", "http://127.0.0.1:1")),
            new OutputContext { InstanceName = "s3.0", ValidationOnly = true });
        output.DisposeAsync().AsTask().GetAwaiter().GetResult();

        Assert.IsType<S3Output>(output);
        Assert.False(Directory.Exists(storeDir));
        Assert.Equal(PluginStatus.Supported, PluginCatalog.Default.GetStatus(PluginKind.Output, "s3"));
    }
}
