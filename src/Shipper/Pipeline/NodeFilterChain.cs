using Gateway.Engine.Buffers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Pipeline;

/// <summary>
/// The node-local filters (<c>aws</c>) in config order, each on the tags its <c>Match</c>/<c>Match_Regex</c>
/// selects. A filter that leaves a chunk alone costs nothing (the input's bytes go on); a filter that throws is
/// skipped for that chunk, logged, and the chunk still ships.
/// </summary>
internal sealed class NodeFilterChain
{
    private readonly (TagMatcher? Matcher, IFilter Filter)[] _filters;
    private readonly ILogger _logger;

    public NodeFilterChain(IReadOnlyList<(TagMatcher? Matcher, IFilter Filter)> filters, ILogger logger)
    {
        _filters = [.. filters];
        _logger = logger;
    }

    public int Count => _filters.Length;

    /// <summary>
    /// The chunk after the matching filters. When a filter rewrote it, <paramref name="owner"/> holds the new bytes
    /// and must be disposed once the chunk has been sent; otherwise it is null and the input's chunk is returned.
    /// </summary>
    public EventChunk Apply(EventChunk chunk, out PooledBufferWriter? owner)
    {
        owner = null;
        var current = chunk;
        foreach (var (matcher, filter) in _filters)
        {
            // Fluent Bit routes nothing to a filter without Match.
            if (matcher is null || !matcher.IsMatch(current.Tag))
            {
                continue;
            }

            var step = FilterStep.Run(filter, ref current, ref owner, out var error);
            if (step == FilterStepResult.Failed)
            {
                ShipperLog.FilterFailed(_logger, error!, filter.Name, current.Tag);
            }
            else if (step == FilterStepResult.AllDropped)
            {
                break; // everything dropped: later filters have nothing to see
            }
        }

        return current;
    }
}
