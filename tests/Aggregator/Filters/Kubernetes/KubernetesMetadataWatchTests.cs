using System.Text.Json.Nodes;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>The metadata cache against the fake API server: one list + one watch, kept current through pod
/// create/update/delete, stream disconnects (resume) and 410 Gone (re-list).</summary>
public sealed class KubernetesMetadataWatchTests
{
    private const string Prefix = "kube.var.log.containers.";

    [Fact]
    public async Task Create_update_delete_disconnect_and_410_keep_the_cache_current()
    {
        await using var h = await KubernetesFilterHarness.StartAsync("Merge_Log On");
        var store = h.Filter.Source.Store;

        // Created after the first list: arrives by the watch.
        h.Server.PutPod(KubernetesFilterHarness.Pod("shop", "cart-1", "node-a", "uid-1", "cart", KubernetesFilterHarness.ContainerId(1)));
        await KubernetesFilterHarness.WaitUntilAsync(() => store.Find("shop/cart-1") is not null, "ADDED cart-1");
        var tag = Prefix + "cart-1_shop_cart-" + KubernetesFilterHarness.ContainerId(1) + ".log";
        Assert.Contains("\"host\":\"node-a\"", Enrich(h, tag), StringComparison.Ordinal);

        // Updated: the next chunk carries the new metadata (the tag's encoded map is rebuilt).
        h.Server.PutPod(KubernetesFilterHarness.Pod("shop", "cart-1", "node-b", "uid-1", "cart", KubernetesFilterHarness.ContainerId(1)));
        await KubernetesFilterHarness.WaitUntilAsync(() => store.Find("shop/cart-1")?.NodeName == "node-b", "MODIFIED cart-1");
        Assert.Contains("\"host\":\"node-b\"", Enrich(h, tag), StringComparison.Ordinal);

        // Deleted: a tombstone keeps enriching its late lines.
        h.Server.DeletePod("shop", "cart-1");
        await KubernetesFilterHarness.WaitUntilAsync(() => store.Find("shop/cart-1")?.DeletedAt is not null, "DELETED cart-1");
        Assert.Contains("\"pod_id\":\"uid-1\"", Enrich(h, tag), StringComparison.Ordinal);

        // The stream ends: the watch resumes from the last resourceVersion, without listing again.
        h.Server.DisconnectWatches();
        await KubernetesFilterHarness.WaitUntilAsync(() => h.Server.PodWatchRequests == 2 && h.Server.ActivePodWatches == 1, "the resumed watch");
        h.Server.PutPod(KubernetesFilterHarness.Pod("shop", "cart-2", "node-c", "uid-2", "cart", KubernetesFilterHarness.ContainerId(2)));
        await KubernetesFilterHarness.WaitUntilAsync(() => store.Find("shop/cart-2") is not null, "ADDED cart-2 after the resume");
        Assert.Equal(1, h.Server.PodListRequests);
        Assert.Matches(@"resourceVersion=1\d\d", h.Server.RequestLog[2]);

        // 410 Gone: the history is compacted, so the filter lists again and watches from the new version.
        h.Server.ExpireHistory();
        await KubernetesFilterHarness.WaitUntilAsync(() => h.Server.PodListRequests == 2 && h.Server.ActivePodWatches == 1, "the re-list after 410");
        h.Server.PutPod(KubernetesFilterHarness.Pod("shop", "cart-3", "node-d", "uid-3", "cart", KubernetesFilterHarness.ContainerId(3)));
        await KubernetesFilterHarness.WaitUntilAsync(() => store.Find("shop/cart-3") is not null, "ADDED cart-3 after the re-list");
        var tag3 = Prefix + "cart-3_shop_cart-" + KubernetesFilterHarness.ContainerId(3) + ".log";
        Assert.Contains("\"host\":\"node-d\"", Enrich(h, tag3), StringComparison.Ordinal);

        Assert.Equal(0, h.Server.PodGetRequests);
        Assert.Equal(0, h.Server.UnauthorizedRequests);
        Assert.Equal(0, h.Server.UnexpectedRequests);
    }

    [Fact]
    public async Task A_broken_watch_connection_resumes_after_the_last_event_it_delivered()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(string.Empty);
        var store = h.Filter.Source.Store;
        h.Server.PutPod(KubernetesFilterHarness.Pod("shop", "a-1", "node-a", "uid-a", "app", KubernetesFilterHarness.ContainerId(1)));
        await KubernetesFilterHarness.WaitUntilAsync(() => store.Find("shop/a-1") is not null, "ADDED a-1");
        var version = h.Server.LastResourceVersion;

        h.Server.AbortWatches();
        await KubernetesFilterHarness.WaitUntilAsync(() => h.Server.PodWatchRequests == 2 && h.Server.ActivePodWatches == 1, "the watch after the reset (1 s backoff)");

        Assert.EndsWith($"resourceVersion={version}", h.Server.RequestLog[^1].Split('&').Single(p => p.StartsWith("resourceVersion=", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(1, h.Server.PodListRequests);
    }

    [Fact]
    public async Task A_pod_deleted_while_the_watch_was_away_becomes_a_tombstone_at_the_re_list()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(string.Empty, s =>
            s.PutPod(KubernetesFilterHarness.Pod("shop", "gone-1", "node-a", "uid-g", "app", KubernetesFilterHarness.ContainerId(7))));
        var store = h.Filter.Source.Store;
        Assert.NotNull(store.Find("shop/gone-1"));

        h.Server.ExpireHistory();
        h.Server.DeletePod("shop", "gone-1"); // lands in the compacted gap; only the re-list shows it is gone
        await KubernetesFilterHarness.WaitUntilAsync(() => h.Server.PodListRequests == 2, "the re-list");
        await KubernetesFilterHarness.WaitUntilAsync(() => store.Find("shop/gone-1")?.DeletedAt is not null, "the tombstone");
    }

    [Fact]
    public async Task Five_thousand_pods_on_fifty_nodes_cost_one_list_and_one_watch()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(string.Empty, server =>
        {
            for (var i = 0; i < 5000; i++)
            {
                server.PutPod(KubernetesFilterHarness.Pod($"ns-{i % 20}", $"pod-{i}", $"node-{i % 50}", $"uid-{i}", "app", KubernetesFilterHarness.ContainerId(i)));
            }
        });

        var events = KubernetesFilterHarness.Events(("line", "stdout"));
        for (var round = 0; round < 2; round++)
        {
            for (var i = 0; i < 5000; i++)
            {
                var tag = $"{Prefix}pod-{i}_ns-{i % 20}_app-{KubernetesFilterHarness.ContainerId(i)}.log";
                var output = new System.Buffers.ArrayBufferWriter<byte>();
                var outcome = h.Filter.Filter(new Gateway.Engine.Records.EventChunk(tag, events, 1, nodeName: $"node-{i % 50}"), output, out var count);
                Assert.Equal(Gateway.Engine.Pipeline.FilterOutcome.Modified, outcome);
                Assert.Equal(1, count);
                var line = Assert.Single(KubernetesFilterHarness.Render(output.WrittenMemory));
                Assert.Contains($"\"pod_id\":\"uid-{i}\"", line, StringComparison.Ordinal);
                Assert.Contains($"\"host\":\"node-{i % 50}\"", line, StringComparison.Ordinal);
            }
        }

        Assert.Equal(1, h.Server.PodListRequests);
        Assert.Equal(1, h.Server.PodWatchRequests);
        Assert.Equal(0, h.Server.PodGetRequests);
        Assert.Equal(2, h.Server.RequestLog.Count);
    }

    [Fact]
    public async Task A_late_line_from_a_pod_deleted_60_seconds_earlier_is_still_enriched_until_the_tombstone_expires()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-25T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var h = await KubernetesFilterHarness.StartAsync(string.Empty, s =>
            s.PutPod(KubernetesFilterHarness.Pod("batch", "job-x", "node-a", "uid-x", "work", KubernetesFilterHarness.ContainerId(9))), clock: clock);
        var tag = Prefix + "job-x_batch_work-" + KubernetesFilterHarness.ContainerId(9) + ".log";

        h.Server.DeletePod("batch", "job-x");
        await KubernetesFilterHarness.WaitUntilAsync(() => h.Filter.Source.Store.Find("batch/job-x")?.DeletedAt is not null, "the DELETED event");
        clock.Advance(TimeSpan.FromSeconds(60));
        Assert.Contains("\"pod_id\":\"uid-x\"", Enrich(h, tag), StringComparison.Ordinal);

        // Past the default 5 minute TTL the tombstone is gone; the API (one GET) does not know the pod either.
        clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Null(h.Run(tag, KubernetesFilterHarness.Events(("late", "stdout")), 1));
        Assert.Equal(1, h.Server.PodGetRequests);
    }

    [Fact]
    public async Task Concurrent_misses_for_one_pod_share_a_single_GET_and_a_known_unknown_is_not_asked_again()
    {
        await using var h = await KubernetesFilterHarness.StartAsync(string.Empty);
        h.Server.PutPodWithoutEvent(KubernetesFilterHarness.Pod("web", "fresh-1", "node-f", "uid-f", "app", KubernetesFilterHarness.ContainerId(5)));
        var tag = Prefix + "fresh-1_web_app-" + KubernetesFilterHarness.ContainerId(5) + ".log";

        // Own threads, not pool tasks: the in-process fake server needs the pool to answer while the callers block.
        var results = new string[16];
        var start = new Barrier(results.Length);
        var threads = Enumerable.Range(0, results.Length).Select(i => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                results[i] = Enrich(h, tag);
            }
            catch (Exception ex)
            {
                results[i] = "failed: " + ex.Message; // an exception escaping a thread would end the test run
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));

        Assert.All(results, line => Assert.Contains("\"host\":\"node-f\"", line, StringComparison.Ordinal));
        Assert.Equal(1, h.Server.PodGetRequests);

        var unknown = Prefix + "nobody_web_app-" + KubernetesFilterHarness.ContainerId(6) + ".log";
        Assert.Null(h.Run(unknown, KubernetesFilterHarness.Events(("x", "stdout")), 1));
        Assert.Null(h.Run(unknown, KubernetesFilterHarness.Events(("y", "stdout")), 1));
        Assert.Equal(2, h.Server.PodGetRequests);
    }

    [Fact]
    public async Task Namespace_labels_and_annotations_come_from_the_namespace_watch()
    {
        await using var h = await KubernetesFilterHarness.StartAsync("Namespace_Labels On\nNamespace_Annotations On\nLabels Off\nAnnotations Off", s =>
        {
            s.PutNamespace(new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Namespace",
                ["metadata"] = new JsonObject { ["name"] = "shop", ["labels"] = new JsonObject { ["team"] = "payments" }, ["annotations"] = new JsonObject { ["owner"] = "alice" } },
            });
            s.PutPod(KubernetesFilterHarness.Pod("shop", "cart-9", "node-a", "uid-9", "cart", KubernetesFilterHarness.ContainerId(11)));
        });
        var tag = Prefix + "cart-9_shop_cart-" + KubernetesFilterHarness.ContainerId(11) + ".log";
        await KubernetesFilterHarness.WaitUntilAsync(() => h.Filter.Source.FindNamespace("shop") is not null, "the namespace list");

        Assert.EndsWith(
            "\"container_image\":\"img:1\"},\"kubernetes_namespace\":{\"name\":\"shop\",\"labels\":{\"team\":\"payments\"},\"annotations\":{\"owner\":\"alice\"}}}",
            Enrich(h, tag),
            StringComparison.Ordinal);
    }

    private static string Enrich(KubernetesFilterHarness h, string tag)
    {
        var lines = h.Run(tag, KubernetesFilterHarness.Events(("hello", "stdout")), 1) ?? throw new Xunit.Sdk.XunitException($"{tag} was not enriched");
        return Assert.Single(lines);
    }
}
