using System.Buffers;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.RecordAccessor;
using Gateway.Engine.Records;

namespace Gateway.Aggregator.Filters;

/// <summary>What a filter did to one record.</summary>
internal enum RecordOutcome
{
    /// <summary>Keep the event's original bytes.</summary>
    Unchanged,

    /// <summary>The new record (a msgpack map) was written to the scratch writer.</summary>
    Rewritten,

    /// <summary>Leave the event out.</summary>
    Dropped,
}

/// <summary>
/// The chunk loop shared by the record filters. Events are copied to the output only once a record actually
/// changes (the untouched run before it goes over as one block); a chunk where nothing changed returns
/// <see cref="FilterOutcome.NotTouched"/> without copying a byte. A rewritten event keeps its original time and
/// metadata bytes and gets the new record.
/// </summary>
internal abstract class RecordFilter : IFilter
{
    [ThreadStatic]
    private static PooledBufferWriter? t_record;

    protected RecordFilter(string name)
    {
        Name = name;
    }

    public string Name { get; }

    public FilterOutcome Filter(EventChunk chunk, IBufferWriter<byte> output, out int outputEventCount)
    {
        var scratch = t_record ??= new PooledBufferWriter(16 * 1024);
        var events = chunk.Events.Span;
        var cursor = new MsgpackCursor(events);
        var copiedUpTo = 0; // bytes of the chunk already accounted for in the output
        var changed = false;
        var kept = 0;
        var seen = 0;
        var rewritten = 0;
        while (!cursor.End)
        {
            // The events were validated at ingest; this walk only needs the record's place: [header, {record}].
            var eventStart = cursor.Position;
            int recordStart;
            try
            {
                var array = cursor.Read();
                if (array.Kind != MsgpackKind.Array || array.Length != 2)
                {
                    throw new EventFormatException($"event at offset {eventStart} is not a [time, record] array");
                }

                recordStart = MsgpackWalker.Skip(events, cursor.Position);
                cursor = new MsgpackCursor(events, MsgpackWalker.Skip(events, recordStart));
            }
            catch (MsgpackFormatException ex)
            {
                throw new EventFormatException($"event at offset {eventStart} is malformed: {ex.Message}", ex);
            }

            var eventEnd = cursor.Position;
            seen++;
            scratch.Reset();
            RecordOutcome outcome;
            try
            {
                outcome = Process(chunk.Tag, events[recordStart..eventEnd], scratch);
            }
            catch (MsgpackFormatException ex)
            {
                throw new EventFormatException($"event at offset {eventStart} has a malformed record: {ex.Message}", ex);
            }

            if (outcome == RecordOutcome.Unchanged)
            {
                kept++;
                continue;
            }

            changed = true;

            // Flush the untouched run before this event as one block.
            if (eventStart > copiedUpTo)
            {
                output.Write(events[copiedUpTo..eventStart]);
            }

            copiedUpTo = eventEnd;
            if (outcome == RecordOutcome.Dropped)
            {
                continue;
            }

            kept++;
            rewritten++;
            output.Write(events[eventStart..recordStart]); // time and metadata bytes as they were
            output.Write(scratch.WrittenSpan);
        }

        FilterMetrics.Chunk(Name, seen, rewritten, seen - kept);
        if (!changed)
        {
            outputEventCount = chunk.EventCount;
            return FilterOutcome.NotTouched;
        }

        if (events.Length > copiedUpTo)
        {
            output.Write(events[copiedUpTo..]);
        }

        outputEventCount = kept;
        return FilterOutcome.Modified;
    }

    /// <summary>Decides about one record; writes the replacement map to <paramref name="newRecord"/> when rewriting.</summary>
    protected abstract RecordOutcome Process(string tag, ReadOnlySpan<byte> record, IBufferWriter<byte> newRecord);
}
