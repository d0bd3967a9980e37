using Microsoft.Extensions.Time.Testing;

namespace Gateway.Shipper.Tests.Support;

/// <summary>
/// A fake clock that counts the timers the code under test arms (a backoff's <c>Task.Delay</c>), so a test advances
/// time only once the delay exists: a retry is often counted just before its timer is created, and advancing in
/// between would leave the timer due a whole backoff later.
/// </summary>
internal sealed class TimerCountingTimeProvider : FakeTimeProvider
{
    private int _timers;

    public int TimersCreated => Volatile.Read(ref _timers);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        Interlocked.Increment(ref _timers);
        return timer;
    }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> timers were created.</summary>
    public async Task WaitForTimersAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (TimersCreated < count)
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
