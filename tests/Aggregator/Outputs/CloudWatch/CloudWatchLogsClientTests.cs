using System.Text;
using Amazon.Runtime;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;
using Gateway.Engine.Aws;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

public sealed class CloudWatchLogsClientTests : IAsyncLifetime
{
    private readonly FakeCloudWatchLogsServer _fake = new();

    public Task InitializeAsync() => _fake.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    private CloudWatchLogsClient Client(string secret = FakeCloudWatchLogsServer.SecretKey, string? token = null) =>
        CloudWatchLogsClient.Create(
            FakeCloudWatchLogsServer.Region,
            _fake.Endpoint,
            token is null ? new BasicAWSCredentials(FakeCloudWatchLogsServer.AccessKey, secret) : new SessionAWSCredentials(FakeCloudWatchLogsServer.AccessKey, secret, token));

    private static MemoryStream Events(params (long Ts, string Message)[] events)
    {
        var text = new StringBuilder("[");
        foreach (var (ts, message) in events)
        {
            text.Append(text.Length > 1 ? "," : string.Empty).Append("{\"timestamp\":").Append(ts).Append(",\"message\":\"").Append(message).Append("\"}");
        }

        return new MemoryStream(Encoding.UTF8.GetBytes(text.Append(']').ToString()));
    }

    [Fact]
    public async Task Signed_requests_create_group_and_stream_and_put_events()
    {
        using var client = Client();
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        Assert.True((await client.CreateLogGroupAsync("/eks/test/pipeline", "STANDARD", default)).IsSuccess);
        Assert.True((await client.CreateLogStreamAsync("/eks/test/pipeline", "node-1-app", default)).IsSuccess);
        Assert.True((await client.PutRetentionPolicyAsync("/eks/test/pipeline", 7, default)).IsSuccess);
        var put = await client.PutLogEventsAsync("/eks/test/pipeline", "node-1-app", Events((now, "one"), (now + 1, "two")), default);

        Assert.True(put.IsSuccess, put.Response.ToString());
        Assert.False(put.Rejected.Any);
        Assert.Equal(["one", "two"], _fake.Events("/eks/test/pipeline", "node-1-app").Select(e => e.Message));
        Assert.Equal(7, _fake.Retention("/eks/test/pipeline"));
        var described = await client.DescribeLogStreamsAsync("/eks/test/pipeline", "node-1", null, default);
        Assert.Equal(["node-1-app"], described.StreamNames);
    }

    [Fact]
    public async Task Session_token_is_sent_and_signed()
    {
        using var client = Client(token: "session-token-value");
        Assert.True((await client.CreateLogGroupAsync("g", null, default)).IsSuccess);
    }

    [Fact]
    public async Task Wrong_secret_is_an_auth_error_with_the_aws_error_type()
    {
        using var client = Client(secret: "not-the-secret");
        var result = await client.CreateLogGroupAsync("g", null, default);

        Assert.Equal(AwsErrorKind.Auth, result.Kind);
        Assert.Equal("InvalidSignatureException", result.ErrorType);
        Assert.False(_fake.GroupExists("g"));
    }

    [Fact]
    public async Task Missing_resources_and_duplicates_are_typed()
    {
        using var client = Client();
        var missingGroup = await client.CreateLogStreamAsync("nope", "s", default);
        Assert.Equal(AwsErrorKind.NotFound, missingGroup.Kind);

        await client.CreateLogGroupAsync("g", null, default);
        var missingStream = await client.PutLogEventsAsync("g", "s", Events((DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), "x")), default);
        Assert.Equal(AwsErrorKind.NotFound, missingStream.Response.Kind);
        Assert.Equal("The specified log stream does not exist.", missingStream.Response.ErrorMessage);

        var again = await client.CreateLogGroupAsync("g", null, default);
        Assert.Equal(AwsErrorKind.AlreadyExists, again.Kind);

        var badName = await client.CreateLogGroupAsync("bad name with spaces", null, default);
        Assert.Equal(AwsErrorKind.Client, badName.Kind);
        Assert.Equal("InvalidParameterException", badName.ErrorType);
    }

    [Fact]
    public async Task Throttling_and_5xx_are_transient()
    {
        _fake.ThrottlePercent = 100;
        using var client = Client();
        var throttled = await client.CreateLogGroupAsync("g", null, default);
        Assert.Equal(AwsErrorKind.Transient, throttled.Kind);
        Assert.Equal("ThrottlingException", throttled.ErrorType);

        _fake.ThrottlePercent = 0;
        _fake.ServerErrorPercent = 100;
        var unavailable = await client.CreateLogGroupAsync("g", null, default);
        Assert.Equal(AwsErrorKind.Transient, unavailable.Kind);
        Assert.True(unavailable.Response.StatusCode >= 500);
    }

    [Fact]
    public async Task Old_and_future_events_come_back_as_rejected_info()
    {
        using var client = Client();
        await client.CreateLogGroupAsync("g", null, default);
        await client.CreateLogStreamAsync("g", "s", default);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var old = now - (long)TimeSpan.FromDays(15).TotalMilliseconds;
        var future = now + (long)TimeSpan.FromHours(3).TotalMilliseconds;

        // 24 h span rule: keep the batch valid by sending the old one alone, then the future one with a current one.
        var oldPut = await client.PutLogEventsAsync("g", "s", Events((old, "old")), default);
        var newPut = await client.PutLogEventsAsync("g", "s", Events((now, "ok"), (future, "future")), default);

        Assert.Equal(0, oldPut.Rejected.TooOldEndIndex);
        Assert.Equal(1, oldPut.Rejected.RejectedCount(1));
        Assert.Equal(1, newPut.Rejected.TooNewStartIndex);
        Assert.Equal(1, newPut.Rejected.RejectedCount(2));
        Assert.Equal(["ok"], _fake.Events("g", "s").Select(e => e.Message));
    }

    [Fact]
    public async Task Unordered_batch_is_an_invalid_parameter()
    {
        using var client = Client();
        await client.CreateLogGroupAsync("g", null, default);
        await client.CreateLogStreamAsync("g", "s", default);
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var put = await client.PutLogEventsAsync("g", "s", Events((now, "b"), (now - 5, "a")), default);

        Assert.Equal(AwsErrorKind.Client, put.Response.Kind);
        Assert.Equal("InvalidParameterException", put.Response.ErrorType);
        Assert.Single(_fake.Violations);
    }
}
