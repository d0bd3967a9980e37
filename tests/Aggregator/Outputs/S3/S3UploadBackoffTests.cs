using Gateway.Aggregator.Outputs.S3;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Outputs.S3;

public sealed class S3UploadBackoffTests
{
    [Fact]
    public void Waits_double_per_failure_up_to_the_cap_and_reset_on_success()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch);
        var backoff = new S3UploadBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), time);

        Assert.True(backoff.IsDue(7));
        Assert.Equal((1, TimeSpan.FromSeconds(1)), backoff.Failed(7));
        Assert.False(backoff.IsDue(7));
        Assert.True(backoff.IsDue(8));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(backoff.IsDue(7));

        Assert.Equal((2, TimeSpan.FromSeconds(2)), backoff.Failed(7));
        Assert.Equal((3, TimeSpan.FromSeconds(4)), backoff.Failed(7));
        Assert.Equal((4, TimeSpan.FromSeconds(8)), backoff.Failed(7));
        Assert.Equal((5, TimeSpan.FromSeconds(10)), backoff.Failed(7));
        Assert.Equal((6, TimeSpan.FromSeconds(10)), backoff.Failed(7));
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(backoff.IsDue(7));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(backoff.IsDue(7));

        backoff.Succeeded(7);
        Assert.Equal(0, backoff.Failures(7));
        Assert.Equal((1, TimeSpan.FromSeconds(1)), backoff.Failed(7));
    }
}
