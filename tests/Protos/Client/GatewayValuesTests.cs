using Gateway.Protos.Client;
using Gateway.Protos.V1;

namespace Gateway.Protos.Tests.Client;

/// <summary>How the client turns .NET values into <c>gateway.v1.Value</c>s and events.</summary>
public sealed class GatewayValuesTests
{
    [Fact]
    public void Scalars_keep_their_type()
    {
        Assert.Equal("a", GatewayValues.From("a").StringValue);
        Assert.True(GatewayValues.From(true).BoolValue);
        Assert.Equal(42L, GatewayValues.From(42).IntValue);
        Assert.Equal(-7L, GatewayValues.From((short)-7).IntValue);
        Assert.Equal(ulong.MaxValue, GatewayValues.From(ulong.MaxValue).UintValue);
        Assert.Equal(5L, GatewayValues.From(5UL).IntValue);
        Assert.Equal(1.5, GatewayValues.From(1.5f).DoubleValue);
        Assert.Equal(new byte[] { 1, 2 }, GatewayValues.From(new byte[] { 1, 2 }).BytesValue.ToByteArray());
        Assert.Equal(Value.KindOneofCase.None, GatewayValues.From(null).KindCase);
        Assert.Equal("2026-11-25T12:00:00.0000000+00:00", GatewayValues.From(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero)).StringValue);
    }

    [Fact]
    public void Dictionaries_become_maps_and_other_sequences_lists()
    {
        var value = GatewayValues.From(new Dictionary<string, object?> { ["ids"] = new[] { 1, 2 }, ["name"] = "x" });

        Assert.Equal(Value.KindOneofCase.MapValue, value.KindCase);
        var ids = value.MapValue.Fields["ids"].ListValue.Values;
        Assert.Equal([1L, 2L], ids.Select(v => v.IntValue));
        Assert.Equal("x", value.MapValue.Fields["name"].StringValue);
    }

    [Fact]
    public void A_self_referencing_list_is_refused_instead_of_recursing_forever()
    {
        var list = new List<object?>();
        list.Add(list);

        var error = Assert.Throws<ArgumentException>(() => GatewayValues.From(list));
        Assert.Contains("deeper than 32 levels", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_event_carries_tag_nanosecond_time_and_fields_in_order()
    {
        var time = DateTimeOffset.FromUnixTimeSeconds(1_764_072_000).AddTicks(1234);

        var e = GatewayValues.CreateEvent("app", time, [new("b", 1), new("a", "two")]);

        Assert.Equal("app", e.Tag);
        Assert.Equal(1_764_072_000_000_123_400UL, e.TimeUnixNano);
        Assert.Equal(["b", "a"], e.Body.Keys);
    }
}
