using Gateway.Aggregator.Buffer;
using Gateway.Engine.Buffers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Routing;

/// <summary>
/// The filters of the config, applied in order, once per chunk, before it is buffered (as Fluent Bit filters at
/// ingest). A filter that leaves the chunk alone costs nothing: the original bytes go on uncopied. A filter
/// that throws is skipped for that chunk (logged) rather than losing the data.
/// </summary>
internal sealed class FilterChain
{
    private readonly IFilter[] _filters;
    private readonly RouteTable _routes;
    private readonly ILogger _logger;

    public FilterChain(IReadOnlyList<(TagMatcher? Matcher, IFilter Filter)> filters, ILogger logger)
    {
        _filters = new IFilter[filters.Count];
        var matchers = new TagMatcher?[filters.Count];
        for (var i = 0; i < filters.Count; i++)
        {
            matchers[i] = filters[i].Matcher;
            _filters[i] = filters[i].Filter;
        }

        _routes = new RouteTable(matchers);
        _logger = logger;
    }

    public static FilterChain Empty { get; } = new([], Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    public int Count => _filters.Length;

    /// <summary>Disposes the filters that hold resources (the kubernetes filter's watch, the aws filter's client).</summary>
    public async ValueTask DisposeFiltersAsync()
    {
        foreach (var filter in _filters)
        {
            if (filter is IAsyncDisposable asyncDisposable)
            {
                await asyncDisposable.DisposeAsync().ConfigureAwait(false);
            }
            else if (filter is IDisposable disposable)
            {
                disposable.Dispose();
            }
        }
    }

    /// <summary>
    /// Runs the matching filters. When any filter changed the events, <paramref name="owner"/> holds the new bytes
    /// (the returned chunk points into it) and the caller must dispose or detach it; otherwise it is null and the
    /// returned chunk is the one passed in.
    /// </summary>
    public EventChunk Apply(EventChunk chunk, out PooledBufferWriter? owner)
    {
        owner = null;
        if (_filters.Length == 0)
        {
            return chunk;
        }

        var current = chunk;
        foreach (var index in _routes.Resolve(chunk.Tag))
        {
            var filter = _filters[index];
            var step = FilterStep.Run(filter, ref current, ref owner, out var error);
            if (step == FilterStepResult.Failed)
            {
                RoutingLog.FilterFailed(_logger, error!, filter.Name, current.Tag);
            }
            else if (step == FilterStepResult.AllDropped)
            {
                break; // everything dropped: later filters have nothing to see
            }
        }

        return current;
    }
}

/// <summary>Routing log messages, event ids 1230-1249.</summary>
internal static partial class RoutingLog
{
    [LoggerMessage(EventId = 1230, Level = LogLevel.Warning, Message = "Filter {Filter} failed on a chunk tagged {Tag}; the chunk passes on unfiltered")]
    public static partial void FilterFailed(ILogger logger, Exception exception, string filter, string tag);

    [LoggerMessage(EventId = 1231, Level = LogLevel.Warning, Message = "Output {Output} has no Match or Match_Regex; it will receive nothing")]
    public static partial void OutputWithoutMatch(ILogger logger, string output);
}
