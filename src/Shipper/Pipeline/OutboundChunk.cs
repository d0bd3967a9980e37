using Gateway.Engine.Records;

namespace Gateway.Shipper.Pipeline;

/// <summary>
/// A chunk on its way to the aggregator and how to tell its input that the aggregator has it (which is what lets
/// the input commit its offset or cursor). Inputs differ in their chunk types; this is the common shape.
/// <see cref="Acknowledge"/> is called once the send completed, when nothing reads the chunk's events any more (a
/// tail input then takes its pooled buffer back).
/// </summary>
internal readonly record struct OutboundChunk(EventChunk Chunk, Action Acknowledge);
