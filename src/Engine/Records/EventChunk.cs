namespace Gateway.Engine.Records;

/// <summary>
/// The unit that flows from inputs through the buffer and router to filters and outputs: one tag and a run of
/// msgpack-encoded events, concatenated with no array header (Fluent Forward's PackedForward "entries" layout,
/// which is also Fluent Bit's chunk layout). Each event is either <c>[time, {record}]</c> or the v2 layout
/// <c>[[time, {metadata}], {record}]</c>, where time is an integer, a float or an EventTime ext.
/// The bytes are kept as received wherever nothing changes them.
/// </summary>
public sealed class EventChunk
{
    public EventChunk(string tag, ReadOnlyMemory<byte> events, int eventCount, string? nodeName = null)
    {
        ArgumentNullException.ThrowIfNull(tag);
        if (eventCount < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(eventCount));
        }

        Tag = tag;
        Events = events;
        EventCount = eventCount;
        NodeName = nodeName;
    }

    public string Tag { get; }

    /// <summary>Concatenated msgpack events.</summary>
    public ReadOnlyMemory<byte> Events { get; }

    public int EventCount { get; }

    /// <summary>
    /// The node the events came from (set by the shipper), used for <c>${HOST_NAME}</c>-style templates at the
    /// aggregator. Null when the sender did not say (a plain forward client).
    /// </summary>
    public string? NodeName { get; }

    public int ByteLength => Events.Length;

    public EventChunk WithEvents(ReadOnlyMemory<byte> events, int eventCount) => new(Tag, events, eventCount, NodeName);

    public override string ToString() => $"{Tag} ({EventCount} events, {Events.Length} bytes)";
}
