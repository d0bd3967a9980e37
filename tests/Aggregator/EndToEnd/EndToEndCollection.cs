namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// End-to-end tests start real aggregator processes and client interpreters; running them one class at a time
/// keeps a 2-core CI machine responsive (unit tests in other collections still run alongside).
/// </summary>
[CollectionDefinition(Name)]
public sealed class EndToEndCollection
{
    public const string Name = "EndToEnd";
}
