using System.Buffers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Protos.V1;
using Grpc.Core;
using MessagePack;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>What one gateway_grpc endpoint feeds: its options, its input sink and its counters.</summary>
internal sealed record GrpcIngestBinding(GrpcInputOptions Options, IChunkSink Sink, GrpcInputMetrics Metrics);

/// <summary>
/// The aggregator side of <c>gateway.v1.Ingest</c>. Each batch becomes one <see cref="EventChunk"/> per tag,
/// validated with <see cref="EventReader.CountAndValidate"/>, appended to the endpoint's sink, and only after the
/// sink has stored it (per the input's durability) is the <see cref="BatchAck"/> sent — the ack is what lets the
/// shipper commit its offsets. A bad batch fails the call with InvalidArgument / ResourceExhausted naming the
/// batch and the problem; nothing of it is stored, so the client must not resend it unchanged.
/// </summary>
internal sealed class IngestService : Ingest.IngestBase
{
    private readonly ILogger<IngestService> _logger;

    public IngestService(ILogger<IngestService> logger)
    {
        _logger = logger;
    }

    public override async Task Stream(IAsyncStreamReader<EventBatch> requestStream, IServerStreamWriter<BatchAck> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var binding = Resolve(context);
        long batches = 0;

        // One batch at a time, in order: the ack for a batch is written only after its append completed, and the
        // sink's backpressure (a full buffer) stops reading the stream, which HTTP/2 flow control carries back to
        // the shipper.
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var batch = requestStream.Current;
            var accepted = await StoreAsync(binding, batch, context.CancellationToken).ConfigureAwait(false);
            await responseStream.WriteAsync(new BatchAck { BatchId = batch.BatchId, Accepted = (uint)accepted }, context.CancellationToken).ConfigureAwait(false);
            batches++;
        }

        GrpcInputLog.StreamEnded(_logger, binding.Options.Name, context.Peer, batches);
    }

    public override async Task<BatchAck> Push(EventBatch request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var binding = Resolve(context);
        var accepted = await StoreAsync(binding, request, context.CancellationToken).ConfigureAwait(false);
        return new BatchAck { BatchId = request.BatchId, Accepted = (uint)accepted };
    }

    private static GrpcIngestBinding Resolve(ServerCallContext context)
    {
        // The endpoint's connection middleware put its binding into the connection items (see
        // GrpcInputKestrelExtensions); a call on any other endpoint (e.g. the [SERVICE] HTTP port) has none.
        var items = context.GetHttpContext().Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is not null && items.TryGetValue(typeof(GrpcIngestBinding), out var value) && value is GrpcIngestBinding binding)
        {
            return binding;
        }

        throw new RpcException(new Status(StatusCode.Unimplemented, "gateway.v1.Ingest is served only on a gateway_grpc input's endpoint"));
    }

    private async Task<int> StoreAsync(GrpcIngestBinding binding, EventBatch batch, CancellationToken cancellationToken)
    {
        var options = binding.Options;
        var node = batch.NodeName.Length > 0 ? batch.NodeName : null;
        if (!batch.EventsMsgpack.IsEmpty)
        {
            if (batch.Events.Count > 0)
            {
                throw Refuse(binding, batch, StatusCode.InvalidArgument, "both events_msgpack and events are set; send one form per batch");
            }

            var events = batch.EventsMsgpack.Memory;
            CheckSize(binding, batch, events.Length);
            var count = Validate(binding, batch, events);
            if (batch.EventCount != 0 && batch.EventCount != count)
            {
                throw Refuse(binding, batch, StatusCode.InvalidArgument, $"event_count is {batch.EventCount} but events_msgpack holds {count} events");
            }

            if (batch.Tag.Length == 0)
            {
                throw Refuse(binding, batch, StatusCode.InvalidArgument, "tag is empty");
            }

            await binding.Sink.AppendAsync(new EventChunk(Tag(options, batch.Tag), events, count, node), cancellationToken).ConfigureAwait(false);
            binding.Metrics.Stored(count, events.Length);
            return count;
        }

        return await StoreEventsAsync(binding, batch, node, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The per-event form (simple clients): consecutive events with the same tag become one chunk, re-encoded as
    /// <c>[time, record]</c> / <c>[[time, metadata], record]</c>. Every event is checked before anything is stored.
    /// </summary>
    private async Task<int> StoreEventsAsync(GrpcIngestBinding binding, EventBatch batch, string? node, CancellationToken cancellationToken)
    {
        var total = 0;
        long size = 0;
        for (var i = 0; i < batch.Events.Count; i++)
        {
            var e = batch.Events[i];
            if (e.Tag.Length == 0)
            {
                throw Refuse(binding, batch, StatusCode.InvalidArgument, $"event {i} has an empty tag");
            }

            size += e.RecordMsgpack.Length + e.MetadataMsgpack.Length + 16;
        }

        CheckSize(binding, batch, size);
        var start = 0;
        var chunks = new List<EventChunk>();
        while (start < batch.Events.Count)
        {
            var tag = batch.Events[start].Tag;
            var end = start;
            var buffer = new ArrayBufferWriter<byte>();
            var writer = new MessagePackWriter(buffer);
            while (end < batch.Events.Count && string.Equals(batch.Events[end].Tag, tag, StringComparison.Ordinal))
            {
                var e = batch.Events[end];
                var time = EventTime.FromUnixNanoseconds((long)e.TimeUnixNano);
                if (e.MetadataMsgpack.IsEmpty)
                {
                    EventWriter.WriteEvent(ref writer, time, e.RecordMsgpack.Span);
                }
                else
                {
                    EventWriter.WriteEventV2(ref writer, time, e.MetadataMsgpack.Span, e.RecordMsgpack.Span);
                }

                end++;
            }

            writer.Flush();
            var count = Validate(binding, batch, buffer.WrittenMemory);
            chunks.Add(new EventChunk(Tag(binding.Options, tag), buffer.WrittenMemory, count, node));
            start = end;
        }

        foreach (var chunk in chunks)
        {
            await binding.Sink.AppendAsync(chunk, cancellationToken).ConfigureAwait(false);
            binding.Metrics.Stored(chunk.EventCount, chunk.ByteLength);
            total += chunk.EventCount;
        }

        return total;
    }

    private static string Tag(GrpcInputOptions options, string tag) => options.TagPrefix is { } prefix ? prefix + tag : tag;

    private void CheckSize(GrpcIngestBinding binding, EventBatch batch, long bytes)
    {
        if (bytes > binding.Options.MaxBatchBytes)
        {
            throw Refuse(binding, batch, StatusCode.ResourceExhausted, $"{bytes} bytes of events exceed Buffer_Max_Size ({binding.Options.MaxBatchBytes}); send smaller batches");
        }
    }

    private int Validate(GrpcIngestBinding binding, EventBatch batch, ReadOnlyMemory<byte> events)
    {
        try
        {
            return EventReader.CountAndValidate(events);
        }
        catch (EventFormatException ex)
        {
            throw Refuse(binding, batch, StatusCode.InvalidArgument, $"invalid msgpack events: {ex.Message}");
        }
        catch (MessagePackSerializationException ex)
        {
            throw Refuse(binding, batch, StatusCode.InvalidArgument, $"invalid msgpack events: {ex.Message}");
        }
    }

    private RpcException Refuse(GrpcIngestBinding binding, EventBatch batch, StatusCode code, string reason)
    {
        binding.Metrics.Rejected();
        GrpcInputLog.BatchRefused(_logger, binding.Options.Name, batch.BatchId, batch.NodeName, reason);
        return new RpcException(new Status(code, $"batch '{batch.BatchId}' (input {binding.Options.Name}): {reason}"));
    }
}
