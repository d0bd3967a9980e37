using Gateway.Shipper.Filters.Aws;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Shipper.Tests.Aws;

public sealed class MetadataRetryScheduleTests
{
    [Fact]
    public void Never_tried_is_due_then_only_after_the_interval()
    {
        var clock = new FakeTimeProvider();
        var schedule = new MetadataRetrySchedule(TimeSpan.FromSeconds(300));
        Assert.True(schedule.IsDue(null, clock.GetUtcNow()));

        var tried = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromSeconds(299));
        Assert.False(schedule.IsDue(tried, clock.GetUtcNow()));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(schedule.IsDue(tried, clock.GetUtcNow()));
    }

    [Fact]
    public void Zero_interval_is_always_due()
    {
        var clock = new FakeTimeProvider();
        var schedule = new MetadataRetrySchedule(TimeSpan.Zero);

        Assert.True(schedule.IsDue(clock.GetUtcNow(), clock.GetUtcNow()));
    }
}
