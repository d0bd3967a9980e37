using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Routing;

namespace Gateway.Aggregator.Engine;

/// <summary>One output as the engine runs it: the plugin instance, its route, retry rule and worker count.</summary>
internal sealed class OutputRegistration
{
    public OutputRegistration(IOutput output, TagMatcher? matcher, RetryPolicy retry, int workers = 1)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(retry);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        Output = output;
        Matcher = matcher;
        Retry = retry;
        Workers = workers;
    }

    public IOutput Output { get; }

    /// <summary>Null when the section has neither Match nor Match_Regex: the output receives nothing.</summary>
    public TagMatcher? Matcher { get; }

    public RetryPolicy Retry { get; }

    public int Workers { get; }

    /// <summary>
    /// Reads <c>Match</c>, <c>Match_Regex</c>, <c>Retry_Limit</c> and <c>Workers</c> of an output section.
    /// <paramref name="matchAllWhenUnset"/> is Fluent Bit's one-input/one-output rule: an output without any
    /// match key then receives everything.
    /// </summary>
    public static OutputRegistration FromSection(ConfigSection section, IOutput output, BufferOptions options, bool matchAllWhenUnset = false)
    {
        ArgumentNullException.ThrowIfNull(section);
        var matcher = TagMatcher.FromSection(section);
        if (matcher is null && matchAllWhenUnset)
        {
            matcher = new TagMatcher("*", null);
        }

        return new OutputRegistration(
            output,
            matcher,
            RetryPolicy.FromSection(section, options),
            (int)ConfigValues.Integer(section.Find("Workers"), 1, 1, 256));
    }
}
