using Gateway.Engine.Forward;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Engine.Tests.Forward;

public sealed class ReconnectBackoffTests
{
    [Fact]
    public void Failed_rounds_double_the_wait_up_to_the_cap_and_success_resets_it()
    {
        var clock = new FakeTimeProvider();
        var backoff = new ReconnectBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), clock);
        Assert.True(backoff.MayAttempt);

        Assert.Equal(TimeSpan.FromSeconds(1), backoff.RecordFailedRound());
        Assert.False(backoff.MayAttempt);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(backoff.MayAttempt);

        Assert.Equal(TimeSpan.FromSeconds(2), backoff.RecordFailedRound());
        Assert.Equal(TimeSpan.FromSeconds(4), backoff.RecordFailedRound());
        Assert.Equal(TimeSpan.FromSeconds(5), backoff.RecordFailedRound());
        Assert.Equal(TimeSpan.FromSeconds(5), backoff.RecordFailedRound());
        Assert.Equal(TimeSpan.FromSeconds(5), backoff.Remaining);

        backoff.RecordSuccess();
        Assert.True(backoff.MayAttempt);
        Assert.Equal(0, backoff.FailedRounds);
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.RecordFailedRound());
    }

    [Fact]
    public void Many_failures_do_not_overflow()
    {
        var backoff = new ReconnectBackoff(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1), new FakeTimeProvider());
        for (var i = 0; i < 200; i++)
        {
            backoff.RecordFailedRound();
        }

        Assert.Equal(TimeSpan.FromMinutes(1), backoff.Remaining);
    }
}
