using Gateway.Engine.Buffers;
using Gateway.Engine.Records;

namespace Gateway.Engine.Pipeline;

/// <summary>What one filter did to the chunk a chain handed it.</summary>
internal enum FilterStepResult
{
    NotTouched,
    Modified,

    /// <summary>Modified, and no event is left: later filters have nothing to see.</summary>
    AllDropped,

    /// <summary>The filter threw; the chunk passes on unfiltered.</summary>
    Failed,
}

/// <summary>
/// One step of a filter chain, shared by the aggregator's and the shipper's chains (which differ only in how
/// they pick filters and where they log): runs the filter into a pooled writer and, when it changed the events,
/// makes that writer the owner of the chunk's new bytes, releasing the previous one.
/// </summary>
internal static class FilterStep
{
    public static FilterStepResult Run(IFilter filter, ref EventChunk current, ref PooledBufferWriter? owner, out Exception? error)
    {
        error = null;
        var writer = new PooledBufferWriter(current.ByteLength + 256);
        FilterOutcome outcome;
        int count;
        try
        {
            outcome = filter.Filter(current, writer, out count);
        }
        catch (Exception ex)
        {
            writer.Dispose();
            error = ex;
            return FilterStepResult.Failed;
        }

        if (outcome == FilterOutcome.NotTouched)
        {
            writer.Dispose();
            return FilterStepResult.NotTouched;
        }

        owner?.Dispose();
        owner = writer;
        current = current.WithEvents(writer.WrittenMemory, count);
        return count == 0 ? FilterStepResult.AllDropped : FilterStepResult.Modified;
    }
}
