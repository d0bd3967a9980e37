using Gateway.Shipper.Filters.Aws;

namespace Gateway.Shipper.Tests.Aws;

/// <summary>The IMDS client reads the AWS SDKs' environment settings: endpoint and per-request timeout.</summary>
public sealed class Ec2MetadataClientSettingsTests
{
    [Theory]
    [InlineData("10", 10)]
    [InlineData("1", 1)]
    public void AWS_METADATA_SERVICE_TIMEOUT_sets_the_request_timeout_in_seconds(string value, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), Ec2MetadataClient.ResolveTimeout(TimeSpan.FromSeconds(1), value));

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-3")]
    [InlineData("1.5")]
    [InlineData("soon")]
    public void A_missing_or_unusable_timeout_keeps_fluent_bits_one_second(string value) =>
        Assert.Equal(TimeSpan.FromSeconds(1), Ec2MetadataClient.ResolveTimeout(TimeSpan.FromSeconds(1), value));

    [Fact]
    public void The_endpoint_setting_loses_its_trailing_slash() =>
        Assert.Equal(new Uri("http://127.0.0.1:8080"), Ec2MetadataClient.ResolveEndpoint("http://127.0.0.1:8080/"));
}
