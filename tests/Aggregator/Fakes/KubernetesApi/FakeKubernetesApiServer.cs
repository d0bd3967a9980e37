using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gateway.Aggregator.Tests.Fakes.KubernetesApi;

/// <summary>
/// A Kubernetes API server for tests (Kestrel on 127.0.0.1, a free port, plain http): pods and namespaces with
/// list (carrying a resourceVersion), <c>?watch=1</c> event streams resumed from a resourceVersion, single-pod
/// GET; counts every request; can end all watch streams (a disconnect) or expire the history (<c>410 Gone</c>).
/// Every request must carry <c>Authorization: Bearer {token}</c>; any other is answered 401 and counted in
/// <see cref="UnauthorizedRequests"/>, which tests assert is zero.
/// </summary>
internal sealed class FakeKubernetesApiServer : IAsyncDisposable
{
    private FakeHttpServer? _http;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Store> _stores = new()
    {
        ["pods"] = new Store("Pod", "PodList"),
        ["namespaces"] = new Store("Namespace", "NamespaceList"),
    };

    private readonly List<Watcher> _watchers = [];
    private long _resourceVersion = 100;
    private long _expiredThrough;
    private int _listRequests;
    private int _watchRequests;
    private int _podGetRequests;
    private int _unauthorized;
    private int _otherRequests;

    private FakeKubernetesApiServer(string token)
    {
        Token = token;
    }

    public string Token { get; }

    public string Url { get; private set; } = string.Empty;

    public int PodListRequests => Volatile.Read(ref _listRequests);

    public int PodWatchRequests => Volatile.Read(ref _watchRequests);

    public int PodGetRequests => Volatile.Read(ref _podGetRequests);

    public int UnauthorizedRequests => Volatile.Read(ref _unauthorized);

    public int UnexpectedRequests => Volatile.Read(ref _otherRequests);

    public long LastResourceVersion
    {
        get
        {
            lock (_gate)
            {
                return _resourceVersion;
            }
        }
    }

    public int ActivePodWatches
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count(w => w.Resource == "pods");
            }
        }
    }

    /// <summary>All requests, for assertions like "one list + one watch, not one per pod".</summary>
    public List<string> RequestLog { get; } = [];

    /// <param name="serverCertificate">Serve https with this certificate (and its private key) instead of http.</param>
    public static async Task<FakeKubernetesApiServer> StartAsync(string token = "test-token", System.Security.Cryptography.X509Certificates.X509Certificate2? serverCertificate = null)
    {
        var server = new FakeKubernetesApiServer(token);
        server._http = await FakeHttpServer.StartAsync(app => app.Run(server.HandleAsync), serverCertificate, HttpProtocols.Http1);
        server.Url = server._http.Url;
        return server;
    }

    /// <summary>Adds or replaces a pod (ADDED or MODIFIED to watchers).</summary>
    public void PutPod(JsonObject pod) => Put("pods", pod);

    public void PutPodJson(string json) => PutPod(JsonNode.Parse(json)!.AsObject());

    /// <summary>Adds a pod that a GET finds but no watch has been told about yet (a watch event still in flight).</summary>
    public void PutPodWithoutEvent(JsonObject pod)
    {
        lock (_gate)
        {
            var meta = pod["metadata"]!.AsObject();
            meta["resourceVersion"] = (++_resourceVersion).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _stores["pods"].Items[$"{meta["namespace"]}/{meta["name"]}"] = pod;
        }
    }

    public void DeletePod(string ns, string name) => Delete("pods", $"{ns}/{name}");

    public void PutNamespace(JsonObject ns) => Put("namespaces", ns);

    /// <summary>Ends every open watch stream cleanly, as an API server or load balancer does at a timeout.</summary>
    public void DisconnectWatches()
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Lines.Writer.TryComplete();
            }
        }
    }

    /// <summary>Breaks every open watch connection mid-stream (a reset, not a clean end).</summary>
    public void AbortWatches()
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Context?.Abort();
            }
        }
    }

    /// <summary>
    /// Compacts the history: every resourceVersion seen so far becomes too old. Open watches get an ERROR event
    /// with a 410 Status and are closed; a watch resumed from an old version gets the same.
    /// </summary>
    public void ExpireHistory()
    {
        lock (_gate)
        {
            _expiredThrough = _resourceVersion;
            foreach (var watcher in _watchers)
            {
                watcher.Lines.Writer.TryWrite(GoneEvent());
                watcher.Lines.Writer.TryComplete();
            }
        }
    }

    private void Put(string resource, JsonObject obj)
    {
        lock (_gate)
        {
            var store = _stores[resource];
            var meta = obj["metadata"]!.AsObject();
            var key = resource == "pods" ? $"{meta["namespace"]}/{meta["name"]}" : meta["name"]!.ToString();
            var rv = ++_resourceVersion;
            meta["resourceVersion"] = rv.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var type = store.Items.ContainsKey(key) ? "MODIFIED" : "ADDED";
            store.Items[key] = obj;
            Publish(resource, rv, type, obj);
        }
    }

    private void Delete(string resource, string key)
    {
        lock (_gate)
        {
            var store = _stores[resource];
            if (!store.Items.Remove(key, out var obj))
            {
                throw new InvalidOperationException($"fake API server: no {resource} {key} to delete");
            }

            var rv = ++_resourceVersion;
            obj["metadata"]!["resourceVersion"] = rv.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Publish(resource, rv, "DELETED", obj);
        }
    }

    private void Publish(string resource, long rv, string type, JsonObject obj)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = obj.DeepClone() }.ToJsonString();
        _stores[resource].History.Add((rv, line));
        foreach (var watcher in _watchers)
        {
            if (watcher.Resource == resource)
            {
                watcher.Lines.Writer.TryWrite(line);
            }
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        lock (_gate)
        {
            RequestLog.Add($"{request.Method} {request.Path}{request.QueryString}");
        }

        if (request.Headers.Authorization.ToString() != "Bearer " + Token)
        {
            Interlocked.Increment(ref _unauthorized);
            context.Response.StatusCode = 401;
            await context.Response.WriteAsync(StatusJson(401, "Unauthorized", "fake API server: missing or wrong bearer token"));
            return;
        }

        var path = request.Path.Value ?? string.Empty;
        var watch = request.Query["watch"].ToString() is "1" or "true";
        if (path is "/api/v1/pods" or "/api/v1/namespaces")
        {
            var resource = path == "/api/v1/pods" ? "pods" : "namespaces";
            if (watch)
            {
                if (resource == "pods")
                {
                    Interlocked.Increment(ref _watchRequests);
                }

                await WatchAsync(context, resource, request.Query["resourceVersion"].ToString());
            }
            else
            {
                if (resource == "pods")
                {
                    Interlocked.Increment(ref _listRequests);
                }

                await ListAsync(context, resource);
            }

            return;
        }

        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (parts is ["api", "v1", "namespaces", var ns, "pods", var name] && !watch)
        {
            Interlocked.Increment(ref _podGetRequests);
            JsonObject? pod;
            lock (_gate)
            {
                pod = _stores["pods"].Items.GetValueOrDefault($"{ns}/{name}")?.DeepClone().AsObject();
            }

            context.Response.ContentType = "application/json";
            if (pod is null)
            {
                context.Response.StatusCode = 404;
                await context.Response.WriteAsync(StatusJson(404, "NotFound", $"pods \"{name}\" not found"));
                return;
            }

            await context.Response.WriteAsync(pod.ToJsonString());
            return;
        }

        Interlocked.Increment(ref _otherRequests);
        context.Response.StatusCode = 404;
        await context.Response.WriteAsync(StatusJson(404, "NotFound", $"fake API server does not serve {path}"));
    }

    private async Task ListAsync(HttpContext context, string resource)
    {
        string body;
        lock (_gate)
        {
            var store = _stores[resource];
            var items = new JsonArray();
            foreach (var item in store.Items.Values)
            {
                items.Add(item.DeepClone());
            }

            body = new JsonObject
            {
                ["kind"] = store.ListKind,
                ["apiVersion"] = "v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = _resourceVersion.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ["items"] = items,
            }.ToJsonString();
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body);
    }

    private async Task WatchAsync(HttpContext context, string resource, string resourceVersion)
    {
        var watcher = new Watcher(resource) { Context = context };
        lock (_gate)
        {
            var from = long.TryParse(resourceVersion, out var rv) ? rv : _resourceVersion;
            if (from < _expiredThrough)
            {
                watcher.Lines.Writer.TryWrite(GoneEvent());
                watcher.Lines.Writer.TryComplete();
            }
            else
            {
                foreach (var (version, line) in _stores[resource].History)
                {
                    if (version > from)
                    {
                        watcher.Lines.Writer.TryWrite(line);
                    }
                }

                _watchers.Add(watcher);
            }
        }

        context.Response.ContentType = "application/json";
        await context.Response.StartAsync();
        await context.Response.Body.FlushAsync();
        try
        {
            await foreach (var line in watcher.Lines.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.WriteAsync(line + "\n", Encoding.UTF8);
                await context.Response.Body.FlushAsync();
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(watcher);
            }
        }
    }

    private static string GoneEvent() => new JsonObject
    {
        ["type"] = "ERROR",
        ["object"] = JsonNode.Parse(StatusJson(410, "Expired", "too old resource version")),
    }.ToJsonString();

    private static string StatusJson(int code, string reason, string message) => JsonSerializer.Serialize(new
    {
        kind = "Status",
        apiVersion = "v1",
        metadata = new { },
        status = "Failure",
        message,
        reason,
        code,
    });

    public async ValueTask DisposeAsync()
    {
        DisconnectWatches();
        if (_http is not null)
        {
            await _http.DisposeAsync();
        }
    }

    private sealed class Store(string kind, string listKind)
    {
        public string Kind { get; } = kind;

        public string ListKind { get; } = listKind;

        public Dictionary<string, JsonObject> Items { get; } = new(StringComparer.Ordinal);

        public List<(long Version, string Line)> History { get; } = [];
    }

    private sealed class Watcher(string resource)
    {
        public string Resource { get; } = resource;

        public Channel<string> Lines { get; } = Channel.CreateUnbounded<string>();

        public HttpContext? Context { get; init; }
    }
}
