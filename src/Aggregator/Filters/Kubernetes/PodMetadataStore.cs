using System.Collections.Concurrent;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>
/// The cluster's pods by <c>namespace/name</c>, kept current by the watch. A deleted pod stays as a tombstone for
/// the tombstone TTL, because its last lines are often read after the pod is gone (short-lived jobs).
/// Lookups are lock-free; writes come from the single watch loop (and the rare miss fallback).
/// </summary>
internal sealed class PodMetadataStore
{
    private readonly ConcurrentDictionary<string, PodMetadata> _pods = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;
    private readonly TimeSpan _tombstoneTtl;

    public PodMetadataStore(TimeProvider clock, TimeSpan tombstoneTtl)
    {
        _clock = clock;
        _tombstoneTtl = tombstoneTtl;
    }

    public int Count => _pods.Count;

    /// <summary>The pod, or its tombstone while younger than the TTL; null otherwise.</summary>
    public PodMetadata? Find(string key)
    {
        if (!_pods.TryGetValue(key, out var pod))
        {
            return null;
        }

        if (pod.DeletedAt is { } deletedAt && _clock.GetElapsedTime(deletedAt) > _tombstoneTtl)
        {
            _pods.TryRemove(new KeyValuePair<string, PodMetadata>(key, pod));
            return null;
        }

        return pod;
    }

    public void Upsert(PodMetadata pod) => _pods[pod.Key] = pod;

    /// <summary>Adds a pod fetched by a single GET unless the watch has put a (newer) one there meanwhile.</summary>
    public void AddIfAbsent(PodMetadata pod) => _pods.TryAdd(pod.Key, pod);

    /// <summary>Turns the pod into a tombstone. A delete for an older incarnation (other uid) is ignored.</summary>
    public void MarkDeleted(PodMetadata deleted)
    {
        if (_pods.TryGetValue(deleted.Key, out var current) && current.DeletedAt is null
            && (deleted.Uid is null || current.Uid == deleted.Uid))
        {
            _pods.TryUpdate(deleted.Key, current.AsDeleted(_clock.GetTimestamp()), current);
        }
    }

    /// <summary>
    /// After a (re-)list: every listed pod is current, and a live pod the list no longer has was deleted while
    /// the watch was away, so it becomes a tombstone.
    /// </summary>
    public void ReplaceAll(IReadOnlyCollection<PodMetadata> pods)
    {
        var listed = new HashSet<string>(pods.Count, StringComparer.Ordinal);
        foreach (var pod in pods)
        {
            listed.Add(pod.Key);
            _pods[pod.Key] = pod;
        }

        var now = _clock.GetTimestamp();
        foreach (var (key, pod) in _pods)
        {
            if (!listed.Contains(key) && pod.DeletedAt is null && !pod.Preloaded)
            {
                _pods.TryUpdate(key, pod.AsDeleted(now), pod);
            }
        }

        SweepExpired();
    }

    /// <summary>Drops tombstones older than the TTL (called from the watch loop, not the hot path).</summary>
    public void SweepExpired()
    {
        foreach (var (key, pod) in _pods)
        {
            if (pod.DeletedAt is { } deletedAt && _clock.GetElapsedTime(deletedAt) > _tombstoneTtl)
            {
                _pods.TryRemove(new KeyValuePair<string, PodMetadata>(key, pod));
            }
        }
    }
}
