using System.Collections.Concurrent;
using Gateway.Engine.Routing;

namespace Gateway.Aggregator.Routing;

/// <summary>
/// Which of a list of matchers (outputs or filters, in config order) accept a tag. Tags repeat, so each tag's
/// answer is computed once and cached; the cache is cleared when it grows past a bound so churning tags (one per
/// pod) cannot grow it without limit.
/// </summary>
internal sealed class RouteTable
{
    private const int MaxCachedTags = 16 * 1024;

    private readonly TagMatcher?[] _matchers;
    private readonly ConcurrentDictionary<string, int[]> _cache = new(StringComparer.Ordinal);

    /// <param name="matchers">One per target, in order; a null matcher never matches.</param>
    public RouteTable(IReadOnlyList<TagMatcher?> matchers)
    {
        _matchers = [.. matchers];
    }

    public int Count => _matchers.Length;

    /// <summary>Indices of the matching targets, ascending. The array is shared: do not modify it.</summary>
    public int[] Resolve(string tag)
    {
        if (_cache.TryGetValue(tag, out var cached))
        {
            return cached;
        }

        var routes = Compute(tag);
        if (_cache.Count >= MaxCachedTags)
        {
            _cache.Clear();
        }

        _cache.TryAdd(tag, routes);
        return routes;
    }

    private int[] Compute(string tag)
    {
        var count = 0;
        Span<bool> hit = _matchers.Length <= 256 ? stackalloc bool[_matchers.Length] : new bool[_matchers.Length];
        for (var i = 0; i < _matchers.Length; i++)
        {
            hit[i] = _matchers[i]?.IsMatch(tag) == true;
            if (hit[i])
            {
                count++;
            }
        }

        if (count == 0)
        {
            return [];
        }

        var routes = new int[count];
        var n = 0;
        for (var i = 0; i < hit.Length; i++)
        {
            if (hit[i])
            {
                routes[n++] = i;
            }
        }

        return routes;
    }
}
