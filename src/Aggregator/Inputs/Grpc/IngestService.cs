using System.Buffers;
using Gateway.Engine.Buffers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Protos.V1;
using Grpc.Core;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>
/// The aggregator side of <c>gateway.v1.Ingest</c>, for the shipper (msgpack chunks) and apps (events with a
/// structured body, encoded by <see cref="EventBodyWriter"/>). Each batch becomes one <see cref="EventChunk"/> per
/// tag run, validated with <see cref="EventReader.CountAndValidate"/>, appended to the endpoint's sink, and only
/// after the sink has stored it (per the input's durability) is the <see cref="BatchAck"/> sent — the ack is what
/// lets the shipper commit its offsets and an app's client report the batch as durable. A bad batch fails the call with InvalidArgument / ResourceExhausted naming the
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

    private static GrpcIngestBinding Resolve(ServerCallContext context) => GrpcIngestBinding.Resolve(context, GrpcInputProtocol.GatewayIngest);

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
    /// The per-event form (apps, simple clients): each event is <c>record_msgpack</c> (+ metadata) or a structured
    /// <c>body</c>, written as <c>[time, record]</c> / <c>[[time, metadata], record]</c> into one pooled buffer;
    /// consecutive events with the same tag become one chunk. Everything is encoded and checked before anything is
    /// stored, so a refused batch stores nothing.
    /// </summary>
    private async Task<int> StoreEventsAsync(GrpcIngestBinding binding, EventBatch batch, string? node, CancellationToken cancellationToken)
    {
        if (batch.Events.Count == 0)
        {
            return 0;
        }

        using var buffer = new PooledBufferWriter(4096);
        var segments = new List<(string Tag, int Start, int Length, int Count)>();
        var now = EventTime.Now(TimeProvider.System);
        var writer = new MessagePackWriter(buffer);
        string? segmentTag = null;
        var segmentStart = 0;
        var segmentCount = 0;
        for (var i = 0; i < batch.Events.Count; i++)
        {
            var e = batch.Events[i];
            var tag = e.Tag.Length > 0 ? e.Tag : batch.Tag;
            if (tag.Length == 0)
            {
                throw Refuse(binding, batch, StatusCode.InvalidArgument, $"event {i} has no tag (set the event's tag or the batch's tag)");
            }

            if (!string.Equals(tag, segmentTag, StringComparison.Ordinal))
            {
                writer.Flush();
                if (segmentTag is not null)
                {
                    segments.Add((segmentTag, segmentStart, buffer.WrittenCount - segmentStart, segmentCount));
                }

                segmentTag = tag;
                segmentStart = buffer.WrittenCount;
                segmentCount = 0;
                writer = new MessagePackWriter(buffer);
            }

            var time = e.TimeUnixNano == 0 ? now : EventTime.FromUnixNanoseconds((long)e.TimeUnixNano);
            WriteEvent(binding, batch, ref writer, i, e, time);
            segmentCount++;
            if (buffer.WrittenCount > binding.Options.MaxBatchBytes)
            {
                writer.Flush();
                CheckSize(binding, batch, buffer.WrittenCount);
            }
        }

        writer.Flush();
        CheckSize(binding, batch, buffer.WrittenCount);
        segments.Add((segmentTag!, segmentStart, buffer.WrittenCount - segmentStart, segmentCount));

        // record_msgpack is the client's bytes: check every record is a map before storing any of them.
        Validate(binding, batch, buffer.WrittenMemory);
        var total = 0;
        foreach (var segment in segments)
        {
            var chunk = new EventChunk(Tag(binding.Options, segment.Tag), buffer.WrittenMemory.Slice(segment.Start, segment.Length), segment.Count, node);
            await binding.Sink.AppendAsync(chunk, cancellationToken).ConfigureAwait(false);
            binding.Metrics.Stored(chunk.EventCount, chunk.ByteLength);
            total += chunk.EventCount;
        }

        return total;
    }

    private void WriteEvent(GrpcIngestBinding binding, EventBatch batch, ref MessagePackWriter writer, int index, Event e, EventTime time)
    {
        var hasBody = e.Body.Count > 0;
        if (hasBody && !e.RecordMsgpack.IsEmpty)
        {
            throw Refuse(binding, batch, StatusCode.InvalidArgument, $"event {index} sets both record_msgpack and body; send one");
        }

        if (!hasBody && e.RecordMsgpack.IsEmpty)
        {
            throw Refuse(binding, batch, StatusCode.InvalidArgument, $"event {index} has neither body nor record_msgpack");
        }

        if (!hasBody)
        {
            if (e.MetadataMsgpack.IsEmpty)
            {
                EventWriter.WriteEvent(ref writer, time, e.RecordMsgpack.Span);
            }
            else
            {
                EventWriter.WriteEventV2(ref writer, time, e.MetadataMsgpack.Span, e.RecordMsgpack.Span);
            }

            return;
        }

        writer.WriteArrayHeader(2);
        if (e.MetadataMsgpack.IsEmpty)
        {
            EventWriter.WriteTime(ref writer, time);
        }
        else
        {
            writer.WriteArrayHeader(2);
            EventWriter.WriteTime(ref writer, time);
            writer.WriteRaw(e.MetadataMsgpack.Span);
        }

        try
        {
            EventBodyWriter.WriteBody(ref writer, e.Body);
        }
        catch (EventBodyException ex)
        {
            throw Refuse(binding, batch, StatusCode.InvalidArgument, $"event {index}: {ex.Message}");
        }
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
