using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>
/// Keeps <see cref="PodMetadataStore"/> (and, when asked for, namespaces) current from ONE cluster-wide list and
/// watch, instead of Fluent Bit's GET per pod per node: list once, watch from the list's resourceVersion, resume
/// from the last seen resourceVersion when the stream ends, list again on <c>410 Gone</c>. A pod the store does
/// not know yet (a line read before its ADDED event arrived) costs one rate-limited GET, shared by all callers.
/// </summary>
internal sealed class KubernetesMetadataSource : IAsyncDisposable
{
    private static readonly Meter s_meter = new("Gateway");
    private static readonly Counter<long> s_lists = s_meter.CreateCounter<long>("gateway.kubernetes.lists", description: "Pod/namespace list requests");
    private static readonly Counter<long> s_watches = s_meter.CreateCounter<long>("gateway.kubernetes.watches", description: "Watch requests (first and resumed)");
    private static readonly Counter<long> s_watchEvents = s_meter.CreateCounter<long>("gateway.kubernetes.watch_events", description: "Watch events applied to the cache");
    private static readonly Counter<long> s_podGets = s_meter.CreateCounter<long>("gateway.kubernetes.pod_gets", description: "Single-pod GETs for cache misses");

    private readonly string _name;
    private readonly KubernetesFilterOptions _options;
    private readonly IKubernetes _client;
    private readonly KubernetesPodReader _podReader;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly WatchRetryPolicy _retry;
    private readonly PodLookupRateLimiter _lookupLimiter;
    private readonly ConcurrentDictionary<string, Task<PodMetadata?>> _inflightGets = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _recentMisses = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, NamespaceMetadata> _namespaces = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _podsSynced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private int _disposed;
    private Task _pods = Task.CompletedTask;
    private Task _namespacesLoop = Task.CompletedTask;

    public KubernetesMetadataSource(string name, KubernetesFilterOptions options, IKubernetes client, KubernetesPodReader podReader, TimeProvider clock, ILogger logger)
    {
        _podReader = podReader;
        _name = name;
        _options = options;
        _client = client;
        _clock = clock;
        _logger = logger;
        _retry = new WatchRetryPolicy();
        _lookupLimiter = new PodLookupRateLimiter(clock, permitsPerSecond: 5, burst: 10);
        Store = new PodMetadataStore(clock, options.TombstoneTtl);
    }

    public PodMetadataStore Store { get; }

    /// <summary>Completes when the first pod list has been applied.</summary>
    public Task PodsSynced => _podsSynced.Task;

    /// <summary>How long a pod the API did not know stays unknown before a GET is tried again.</summary>
    public TimeSpan MissRetryInterval => _options.MetaCacheTtl > TimeSpan.Zero ? _options.MetaCacheTtl : TimeSpan.FromSeconds(30);

    public void Start()
    {
        _pods = Task.Run(() => RunAsync("pods", ListPodsAsync, WatchPodsAsync, _stop.Token));
        if (_options.NamespaceMetadata)
        {
            _namespacesLoop = Task.Run(() => RunAsync("namespaces", ListNamespacesAsync, WatchNamespacesAsync, _stop.Token));
        }
    }

    public NamespaceMetadata? FindNamespace(string name) => _namespaces.GetValueOrDefault(name);

    public void Preload(IEnumerable<V1Pod> pods)
    {
        foreach (var pod in pods)
        {
            if (PodMetadata.FromPod(pod, _options) is { } meta)
            {
                Store.AddIfAbsent(meta.AsPreloaded());
            }
        }
    }

    /// <summary>
    /// For a pod the store lacks: one GET, shared by concurrent callers for the same pod (they wait for the first
    /// caller's answer, at most <paramref name="wait"/>), skipped while the pod was recently unknown or the rate
    /// limit is exhausted. Null when the pod stays unknown.
    /// </summary>
    public PodMetadata? FetchMissing(string namespaceName, string podName, TimeSpan wait)
    {
        var key = PodMetadata.KeyOf(namespaceName, podName);
        if (_inflightGets.TryGetValue(key, out var inflight))
        {
            return inflight.Wait(wait) ? inflight.Result : null;
        }

        if (_recentMisses.TryGetValue(key, out var missedAt) && _clock.GetElapsedTime(missedAt) < MissRetryInterval)
        {
            return null;
        }

        if (!_lookupLimiter.TryAcquire())
        {
            return null;
        }

        var created = new TaskCompletionSource<PodMetadata?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var winner = _inflightGets.GetOrAdd(key, created.Task);
        if (winner != created.Task)
        {
            return winner.Wait(wait) ? winner.Result : null;
        }

        PodMetadata? result = null;
        try
        {
            s_podGets.Add(1);
            if (_podReader.Read(namespaceName, podName) is { } pod && PodMetadata.FromPod(pod, _options) is { } meta)
            {
                Store.AddIfAbsent(meta);
                result = Store.Find(key) ?? meta;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or TaskCanceledException or System.Text.Json.JsonException)
        {
            KubernetesFilterLog.PodGetFailed(_logger, ex, _name, key);
        }
        finally
        {
            if (result is null)
            {
                _recentMisses[key] = _clock.GetTimestamp();
            }
            else
            {
                _recentMisses.TryRemove(key, out _);
            }

            _inflightGets.TryRemove(key, out _);
            created.TrySetResult(result);
        }

        return result;
    }

    private async Task RunAsync(
        string kind,
        Func<CancellationToken, Task<string?>> list,
        Func<string, Action<Exception>, Action<string>, CancellationToken, Task> watch,
        CancellationToken cancellationToken)
    {
        string? resourceVersion = null;
        var failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (resourceVersion is null)
                {
                    s_lists.Add(1);
                    resourceVersion = await list(cancellationToken).ConfigureAwait(false);
                }

                Exception? streamError = null;
                var delivered = false;
                var started = _clock.GetTimestamp();
                s_watches.Add(1);

                // Each applied event advances the version, so a stream that breaks mid-way resumes after the
                // last event it delivered rather than replaying (or, if that is compacted, re-listing).
                await watch(
                    resourceVersion ?? string.Empty,
                    e => streamError = e,
                    v =>
                    {
                        resourceVersion = v;
                        delivered = true;
                    },
                    cancellationToken).ConfigureAwait(false);

                // A server that ends every watch at once (or answers each re-list with 410) must not be hammered.
                if (!delivered && _clock.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
                {
                    await Task.Delay(_retry.DelayFor(++failures), _clock, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    failures = 0;
                }

                if (streamError is KubernetesException { Status.Code: (int)HttpStatusCode.Gone })
                {
                    KubernetesFilterLog.WatchExpired(_logger, _name, kind, resourceVersion);
                    resourceVersion = null;
                }
                else if (streamError is not null)
                {
                    throw streamError;
                }
                else
                {
                    KubernetesFilterLog.WatchResumed(_logger, _name, kind, resourceVersion);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (HttpOperationException ex) when (ex.Response?.StatusCode == HttpStatusCode.Gone)
            {
                KubernetesFilterLog.WatchExpired(_logger, _name, kind, resourceVersion);
                resourceVersion = null;
            }
            catch (Exception ex)
            {
                var delay = _retry.DelayFor(++failures);
                KubernetesFilterLog.WatchFailed(_logger, ex, _name, kind, _options.KubeUrl, delay);
                try
                {
                    await Task.Delay(delay, _clock, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<string?> ListPodsAsync(CancellationToken cancellationToken)
    {
        var list = await _client.CoreV1.ListPodForAllNamespacesAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var pods = new List<PodMetadata>(list.Items.Count);
        foreach (var pod in list.Items)
        {
            if (PodMetadata.FromPod(pod, _options) is { } meta)
            {
                pods.Add(meta);
            }
        }

        Store.ReplaceAll(pods);
        KubernetesFilterLog.Listed(_logger, _name, pods.Count, "pods", list.Metadata?.ResourceVersion);
        _podsSynced.TrySetResult();
        return list.Metadata?.ResourceVersion;
    }

    private async Task WatchPodsAsync(string resourceVersion, Action<Exception> onError, Action<string> applied, CancellationToken cancellationToken)
    {
        var events = _client.CoreV1.WatchListPodForAllNamespacesAsync(
            allowWatchBookmarks: true,
            resourceVersion: resourceVersion,
            timeoutSeconds: 300 + Random.Shared.Next(60),
            onError: onError,
            cancellationToken: cancellationToken);
        await foreach (var (type, pod) in events.ConfigureAwait(false))
        {
            s_watchEvents.Add(1);
            if (type != WatchEventType.Bookmark && PodMetadata.FromPod(pod, _options) is { } meta)
            {
                if (type == WatchEventType.Deleted)
                {
                    Store.MarkDeleted(meta);
                }
                else if (type is WatchEventType.Added or WatchEventType.Modified)
                {
                    Store.Upsert(meta);
                    _recentMisses.TryRemove(meta.Key, out _);
                }
            }

            if (pod.Metadata?.ResourceVersion is { } version)
            {
                applied(version);
            }
        }

        Store.SweepExpired();
    }

    private async Task<string?> ListNamespacesAsync(CancellationToken cancellationToken)
    {
        var list = await _client.CoreV1.ListNamespaceAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var ns in list.Items)
        {
            if (NamespaceMetadata.FromNamespace(ns, _options) is { } meta)
            {
                _namespaces[meta.Name] = meta;
                seen.Add(meta.Name);
            }
        }

        foreach (var key in _namespaces.Keys)
        {
            if (!seen.Contains(key))
            {
                _namespaces.TryRemove(key, out _);
            }
        }

        KubernetesFilterLog.Listed(_logger, _name, seen.Count, "namespaces", list.Metadata?.ResourceVersion);
        return list.Metadata?.ResourceVersion;
    }

    private async Task WatchNamespacesAsync(string resourceVersion, Action<Exception> onError, Action<string> applied, CancellationToken cancellationToken)
    {
        var events = _client.CoreV1.WatchListNamespaceAsync(
            allowWatchBookmarks: true,
            resourceVersion: resourceVersion,
            timeoutSeconds: 300 + Random.Shared.Next(60),
            onError: onError,
            cancellationToken: cancellationToken);
        await foreach (var (type, ns) in events.ConfigureAwait(false))
        {
            s_watchEvents.Add(1);

            // A deleted namespace is kept: its pods' late lines may still come in.
            if (type is WatchEventType.Added or WatchEventType.Modified && NamespaceMetadata.FromNamespace(ns, _options) is { } meta)
            {
                _namespaces[meta.Name] = meta;
            }

            if (ns.Metadata?.ResourceVersion is { } version)
            {
                applied(version);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return; // a second dispose must not touch the disposed token source
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_pods, _namespacesLoop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _client.Dispose();
        _podReader.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Backoff between failed list/watch attempts: 1 s doubling to 30 s (the watch's retry policy).</summary>
internal sealed class WatchRetryPolicy
{
    public TimeSpan Initial { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan Max { get; init; } = TimeSpan.FromSeconds(30);

    public TimeSpan DelayFor(int consecutiveFailures)
    {
        var exponent = Math.Clamp(consecutiveFailures - 1, 0, 16);
        var delay = Initial * Math.Pow(2, exponent);
        return delay > Max ? Max : delay;
    }
}

/// <summary>Token bucket for the cache-miss GETs, so a burst of unknown pods cannot hammer the API server.</summary>
internal sealed class PodLookupRateLimiter
{
    private readonly TimeProvider _clock;
    private readonly double _permitsPerSecond;
    private readonly double _burst;
    private readonly Lock _gate = new();
    private double _tokens;
    private long _last;

    public PodLookupRateLimiter(TimeProvider clock, double permitsPerSecond, double burst)
    {
        _clock = clock;
        _permitsPerSecond = permitsPerSecond;
        _burst = burst;
        _tokens = burst;
        _last = clock.GetTimestamp();
    }

    public bool TryAcquire()
    {
        lock (_gate)
        {
            var now = _clock.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + (_clock.GetElapsedTime(_last, now).TotalSeconds * _permitsPerSecond));
            _last = now;
            if (_tokens < 1)
            {
                return false;
            }

            _tokens -= 1;
            return true;
        }
    }
}
