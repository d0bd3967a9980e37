using Gateway.Engine.Routing;
using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// The container-insights seed's five filters (grep on an annotation, grep on level, lift kubernetes, remove 12
/// keys, nest k8s_*) over 1000 kubernetes-enriched records, through the engine's FilterChain; plus the cheapest
/// case, a grep that keeps everything (no copy at all).
/// </summary>
[MemoryDiagnoser]
public class FilterChainBenchmarks
{
    private EventChunk _chunk = null!;
    private FilterChain _containerInsights = null!;
    private FilterChain _grepKeepsAll = null!;

    [GlobalSetup]
    public void Setup()
    {
        _chunk = new EventChunk("application.var.log.containers.web-7d4b9c-x2x_prod_web-4f1c2d.log", EnrichedEvents(1000), 1000);
        _containerInsights = Chain(
            Section(("Name", "grep"), ("Regex", "$kubernetes['annotations']['fluentbit/enabled'] true")),
            Section(("Name", "grep"), ("Regex", "level .")),
            Section(("Name", "nest"), ("Operation", "lift"), ("Nested_under", "kubernetes"), ("Add_prefix", "k8s_")),
            Section(("Name", "record_modifier"), ("Remove_key", "stream"), ("Remove_key", "_p"), ("Remove_key", "log"),
                ("Remove_key", "k8s_namespace_name"), ("Remove_key", "k8s_pod_ip"), ("Remove_key", "k8s_pod_name"),
                ("Remove_key", "k8s_container_hash"), ("Remove_key", "k8s_docker_id"), ("Remove_key", "k8s_container_image"),
                ("Remove_key", "k8s_container_name"), ("Remove_key", "k8s_annotations"), ("Remove_key", "kubernetes")),
            Section(("Name", "nest"), ("Operation", "nest"), ("Wildcard", "k8s_*"), ("Nest_under", "kubernetes"), ("Remove_prefix", "k8s_")));
        _grepKeepsAll = Chain(Section(("Name", "grep"), ("Regex", "level .")));
    }

    [Benchmark]
    public int ContainerInsightsChain() => Run(_containerInsights);

    [Benchmark]
    public int GrepKeepsEverything() => Run(_grepKeepsAll);

    private int Run(FilterChain chain)
    {
        var result = chain.Apply(_chunk, out var owner);
        owner?.Dispose();
        return result.EventCount;
    }

    private static FilterChain Chain(params ConfigSection[] sections)
    {
        var filters = new List<(TagMatcher?, IFilter)>();
        for (var i = 0; i < sections.Length; i++)
        {
            filters.Add((new TagMatcher("application.*", null), FilterFactory.Create(sections[i])));
        }

        return new FilterChain(filters, NullLogger.Instance);
    }

    private static ConfigSection Section(params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry>();
        foreach (var (key, value) in entries)
        {
            list.Add(new ConfigEntry(key, value, new ConfigLocation("bench.conf", 1)));
        }

        return new ConfigSection(SectionKind.Filter, "FILTER", new ConfigLocation("bench.conf", 1), list);
    }

    /// <summary>Records as the kubernetes filter leaves them (Merge_Log On, Annotations On, Labels Off).</summary>
    public static ReadOnlyMemory<byte> EnrichedEvents(int count)
    {
        var output = new ArrayBufferWriter<byte>(count * 768);
        var writer = new MessagePackWriter(output);
        var time = new EventTime(1_700_000_000, 123_456_789);
        for (var i = 0; i < count; i++)
        {
            writer.WriteArrayHeader(2);
            EventWriter.WriteTime(ref writer, time);
            writer.WriteMapHeader(7);
            Str(ref writer, "log", $"{{\"level\":\"info\",\"msg\":\"GET /api/v1/items?id={i} 200 12ms\"}}\n");
            Str(ref writer, "stream", "stdout");
            Str(ref writer, "_p", "F");
            Str(ref writer, "time", "2026-11-25T10:00:00.123456789Z");
            Str(ref writer, "level", "info");
            Str(ref writer, "msg", $"GET /api/v1/items?id={i} 200 12ms");
            writer.Write("kubernetes");
            writer.WriteMapHeader(10);
            Str(ref writer, "pod_name", "web-7d4b9c-x2x");
            Str(ref writer, "namespace_name", "prod");
            Str(ref writer, "pod_id", "0f0e6c1e-11aa-4b7e-9d51-3c2b7f1e9a00");
            writer.Write("labels");
            writer.WriteMapHeader(2);
            Str(ref writer, "app", "web");
            Str(ref writer, "pod-template-hash", "7d4b9c");
            writer.Write("annotations");
            writer.WriteMapHeader(1);
            Str(ref writer, "fluentbit/enabled", "true");
            Str(ref writer, "host", "ip-10-0-1-23.ec2.internal");
            Str(ref writer, "container_name", "web");
            Str(ref writer, "docker_id", "4f1c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e");
            Str(ref writer, "container_hash", "sha256:2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e");
            Str(ref writer, "container_image", "public.ecr.aws/nginx/nginx:1.25");
        }

        writer.Flush();
        return output.WrittenMemory.ToArray();
    }

    private static void Str(ref MessagePackWriter writer, string key, string value)
    {
        writer.Write(key);
        writer.WriteString(Encoding.UTF8.GetBytes(value));
    }
}
