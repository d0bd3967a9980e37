using Gateway.Engine.Records;

namespace Gateway.Shipper.Pipeline;

/// <summary>
/// A chunk on its way to the aggregator and how to tell its input that the aggregator has it (which is what lets
/// the input commit its offset or cursor). Inputs differ in their chunk types; this is the common shape.
/// </summary>
internal readonly record struct OutboundChunk(EventChunk Chunk, Action Acknowledge);
