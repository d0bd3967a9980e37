namespace Gateway.Engine.RecordAccessor;

/// <summary>A record accessor pattern that cannot be compiled; the message names the pattern and what is wrong.</summary>
public sealed class RecordAccessorSyntaxException : FormatException
{
    public RecordAccessorSyntaxException(string pattern, string problem)
        : base($"invalid record accessor '{pattern}': {problem}")
    {
        Pattern = pattern;
        Problem = problem;
    }

    public string Pattern { get; }

    public string Problem { get; }
}
