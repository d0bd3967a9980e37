using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Tests.Engine;

public sealed class RetryPolicyTests
{
    private static ConfigEntry Limit(string value) => new("Retry_Limit", value, new ConfigLocation("o.conf", 9));

    [Theory]
    [InlineData("1", 1)]
    [InlineData("5", 5)]
    [InlineData("no_retries", 0)]
    [InlineData("False", null)]
    [InlineData("no_limits", null)]
    public void Retry_Limit_spellings(string value, int? expected)
    {
        Assert.Equal(expected, RetryPolicy.ParseLimit(Limit(value)));
    }

    [Fact]
    public void Retry_Limit_defaults_to_one_and_bad_values_name_the_line()
    {
        Assert.Equal(1, RetryPolicy.ParseLimit(null));
        var ex = Assert.Throws<ConfigException>(() => RetryPolicy.ParseLimit(Limit("0")));
        Assert.StartsWith("o.conf:9: Retry_Limit '0'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_limit_of_n_allows_n_retries()
    {
        var policy = new RetryPolicy(2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2000));
        Assert.True(policy.AllowsRetry(1));
        Assert.True(policy.AllowsRetry(2));
        Assert.False(policy.AllowsRetry(3));
        Assert.False(new RetryPolicy(0, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)).AllowsRetry(1));
        Assert.True(new RetryPolicy(null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(10)).AllowsRetry(1_000_000));
    }

    [Fact]
    public void Backoff_is_full_jitter_between_base_and_the_capped_exponential()
    {
        var policy = new RetryPolicy(null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60), new Random(42));
        for (var retry = 1; retry <= 80; retry++)
        {
            var ceiling = Math.Min(60, 5 * Math.Pow(2, retry));
            for (var i = 0; i < 50; i++)
            {
                var delay = policy.Backoff(retry);
                Assert.InRange(delay.TotalSeconds, 5, ceiling);
                Assert.Equal(Math.Floor(delay.TotalSeconds), delay.TotalSeconds); // whole seconds, as Fluent Bit
            }
        }

        // Jitter actually spreads the waits (not a fixed schedule).
        var spread = Enumerable.Range(0, 200).Select(_ => policy.Backoff(4)).Distinct().Count();
        Assert.True(spread > 10, $"only {spread} distinct delays");
    }

    [Fact]
    public void Scheduler_base_and_cap_come_from_the_service_section()
    {
        var options = new BufferOptions { SchedulerBase = TimeSpan.FromSeconds(1), SchedulerCap = TimeSpan.FromSeconds(4) };
        var section = new ConfigSection(SectionKind.Output, "OUTPUT", new("o.conf", 1), [Limit("3")]);
        var policy = RetryPolicy.FromSection(section, options, new Random(1));
        Assert.Equal(3, policy.Limit);
        Assert.All(Enumerable.Range(0, 100), _ => Assert.InRange(policy.Backoff(10).TotalSeconds, 1, 4));
    }
}
