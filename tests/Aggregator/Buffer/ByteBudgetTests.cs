using Gateway.Aggregator.Buffer;

namespace Gateway.Aggregator.Tests.Buffer;

public sealed class ByteBudgetTests
{
    [Fact]
    public async Task Waiters_are_served_in_order_as_bytes_are_released_and_the_peak_stays_within_the_limit()
    {
        var budget = new ByteBudget("t", 100);
        Assert.True(budget.TryReserve(60));
        var second = budget.ReserveAsync(50, CancellationToken.None).AsTask();
        var third = budget.ReserveAsync(10, CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        Assert.False(third.IsCompleted); // fits, but must not overtake the one ahead
        Assert.False(budget.TryReserve(1));

        budget.Release(60);
        Assert.True(await second.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(await third.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(60, budget.UsedBytes);
        Assert.Equal(60, budget.PeakBytes);
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_line_and_does_not_block_the_next()
    {
        var budget = new ByteBudget("t", 100);
        Assert.True(budget.TryReserve(100));
        using var cts = new CancellationTokenSource();
        var cancelled = budget.ReserveAsync(80, cts.Token).AsTask();
        var next = budget.ReserveAsync(10, CancellationToken.None).AsTask();

        budget.Release(50); // 50 free: the head (80) does not fit, so next (10) waits behind it
        Assert.False(next.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.True(await next.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(60, budget.UsedBytes);
    }

    [Fact]
    public async Task A_request_larger_than_the_limit_is_granted_alone()
    {
        var budget = new ByteBudget("t", 100);
        Assert.True(budget.TryReserve(10));
        var big = budget.ReserveAsync(500, CancellationToken.None).AsTask();
        Assert.False(big.IsCompleted);
        budget.Release(10);
        Assert.True(await big.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(budget.TryReserve(1));
    }
}
