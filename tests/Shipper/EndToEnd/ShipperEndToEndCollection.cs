namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>Real aggregator + shipper processes: one class at a time keeps a 2-core machine responsive.</summary>
[CollectionDefinition(Name)]
public sealed class ShipperEndToEndCollection
{
    public const string Name = "ShipperEndToEnd";
}
