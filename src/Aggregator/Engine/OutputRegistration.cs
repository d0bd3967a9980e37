using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;

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

    /// <summary>Reads <c>Match</c>, <c>Match_Regex</c>, <c>Retry_Limit</c> and <c>Workers</c> of an output section.</summary>
    public static OutputRegistration FromSection(ConfigSection section, IOutput output, BufferOptions options)
    {
        ArgumentNullException.ThrowIfNull(section);
        return new OutputRegistration(
            output,
            TagMatcher.FromSection(section),
            RetryPolicy.FromSection(section, options),
            (int)ConfigValues.Integer(section.Find("Workers"), 1, 1, 256));
    }
}
