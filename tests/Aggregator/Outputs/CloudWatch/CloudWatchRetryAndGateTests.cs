using Gateway.Aggregator.Outputs.CloudWatch;
using Gateway.Engine.Aws;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

public sealed class CloudWatchRetryAndGateTests
{
    [Fact]
    public void Backoff_is_full_jitter_capped_and_never_zero()
    {
        var backoff = new CloudWatchRetryBackoff(5, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1), new FakeTimeProvider(), new Random(1));

        for (var retry = 1; retry <= 10; retry++)
        {
            var ceiling = Math.Min(100 * Math.Pow(2, retry - 1), 1000);
            for (var i = 0; i < 50; i++)
            {
                var delay = backoff.Delay(retry).TotalMilliseconds;
                Assert.InRange(delay, 1, ceiling);
            }
        }

        Assert.True(backoff.CanRetry(4));
        Assert.False(backoff.CanRetry(5));
    }

    [Fact]
    public async Task Backoff_waits_on_the_time_provider()
    {
        var time = new FakeTimeProvider();
        var backoff = new CloudWatchRetryBackoff(3, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2), time, new Random(3));
        var wait = backoff.WaitAsync(1, CancellationToken.None);

        Assert.False(wait.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(2));
        await wait.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Gate_halves_on_throttle_and_recovers_after_successes()
    {
        var gate = new AdaptiveSendGate(8);
        await gate.EnterAsync(default);
        gate.Exit(throttled: true);
        Assert.Equal(4, gate.Limit);
        await gate.EnterAsync(default);
        gate.Exit(throttled: true);
        Assert.Equal(2, gate.Limit);

        for (var i = 0; i < 2; i++)
        {
            await gate.EnterAsync(default);
            gate.Exit(throttled: false);
        }

        Assert.Equal(3, gate.Limit);
    }

    [Fact]
    public async Task Gate_holds_callers_beyond_the_limit_until_a_slot_frees()
    {
        var gate = new AdaptiveSendGate(1);
        await gate.EnterAsync(default);
        var second = gate.EnterAsync(default);

        Assert.False(second.IsCompleted);
        gate.Exit(throttled: false);
        await second.WaitAsync(TimeSpan.FromSeconds(30));
        gate.Exit(throttled: false);
    }

    [Theory]
    [InlineData("""{"__type":"com.amazonaws.logs#ThrottlingException","message":"Rate exceeded"}""", 400, "ThrottlingException", "Transient")]
    [InlineData("""{"__type":"ResourceNotFoundException","message":"The specified log group does not exist."}""", 400, "ResourceNotFoundException", "NotFound")]
    [InlineData("""{"__type":"AccessDeniedException","Message":"no"}""", 400, "AccessDeniedException", "Auth")]
    [InlineData("""{"__type":"InvalidParameterException","message":"bad"}""", 400, "InvalidParameterException", "Client")]
    [InlineData("<html>bad gateway</html>", 502, null, "Transient")]
    public void Aws_errors_are_typed(string body, int status, string? type, string kind)
    {
        var response = AwsErrorParser.Parse(status, System.Text.Encoding.UTF8.GetBytes(body), null);

        Assert.Equal(type, response.ErrorType);
        Assert.Equal(kind, response.Kind.ToString());
    }

    [Fact]
    public void Rejected_info_counts_old_and_new_ends()
    {
        Assert.Equal(0, RejectedLogEventsInfo.None.RejectedCount(10));
        Assert.Equal(3, new RejectedLogEventsInfo(-1, 2, -1).RejectedCount(10));
        Assert.Equal(2, new RejectedLogEventsInfo(8, -1, -1).RejectedCount(10));
        Assert.Equal(5, new RejectedLogEventsInfo(8, 1, 2).RejectedCount(10));
    }

    [Fact]
    public void Truncation_never_splits_a_utf8_character()
    {
        var text = System.Text.Encoding.UTF8.GetBytes("aé€"); // 1 + 2 + 3 bytes
        Assert.Equal(1, CloudWatchOutput.Utf8Boundary(text, 2));
        Assert.Equal(3, CloudWatchOutput.Utf8Boundary(text, 4));
        Assert.Equal(6, CloudWatchOutput.Utf8Boundary(text, 6));
    }
}
