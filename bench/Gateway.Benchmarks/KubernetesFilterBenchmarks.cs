using System.Buffers;
using BenchmarkDotNet.Attributes;
using Gateway.Aggregator.Filters;
using Gateway.Aggregator.Filters.Kubernetes;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using Gateway.Tools;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Benchmarks;

/// <summary>
/// scripts/bench-kubernetes.sh's filters without the network and the buffer: 1000 container log records of one
/// pod (the docker parser's <c>{log, stream, time}</c>, an app JSON line in <c>log</c>) through the kubernetes
/// filter (Merge_Log, Labels, Annotations), alone and followed by <c>grep Exclude level ^debug$</c>. The pod comes
/// from <c>Kube_Meta_Preload_Cache_Dir</c>; the API URL goes nowhere (its watch just retries in the background).
/// </summary>
[MemoryDiagnoser]
public class KubernetesFilterBenchmarks
{
    private const int Pod = 3;
    private EventChunk _chunk = null!;
    private KubernetesFilter _kubernetes = null!;
    private FilterChain _kubernetesThenGrep = null!;
    private string _preloadDir = null!;
    private readonly ArrayBufferWriter<byte> _output = new(4 * 1024 * 1024);

    [GlobalSetup]
    public void Setup()
    {
        _preloadDir = Directory.CreateTempSubdirectory("gateway-bench-pods").FullName;
        File.WriteAllText(Path.Combine(_preloadDir, "pod.json"), PodJson(Pod));
        var text = $"""
            [FILTER]
                Name                        kubernetes
                Match                       kube.*
                Kube_URL                    http://127.0.0.1:1
                Kube_Token_File             /nonexistent
                Kube_Meta_Preload_Cache_Dir {_preloadDir}
                Merge_Log                   On
                Labels                      On
                Annotations                 On

            [FILTER]
                Name    grep
                Match   kube.*
                Exclude level ^debug$
            """;
        var document = ClassicConfigReader.Parse(text, "bench.conf");
        var sections = document.Sections.Where(s => s.Kind == SectionKind.Filter).ToArray();
        _kubernetes = KubernetesFilter.Create(sections[0], ParserRegistry.FromConfig(document), NullLoggerFactory.Instance, TimeProvider.System);
        _kubernetesThenGrep = new FilterChain(
            [(new TagMatcher("kube.*", null), (IFilter)_kubernetes), (new TagMatcher("kube.*", null), FilterFactory.Create(sections[1]))],
            NullLogger.Instance);
        _chunk = new EventChunk(SyntheticPods.Tag(Pod), ContainerLogEvents(1000), 1000);
    }

    [GlobalCleanup]
    public async Task Cleanup()
    {
        await _kubernetes.DisposeAsync();
        Directory.Delete(_preloadDir, recursive: true);
    }

    [Benchmark]
    public int Kubernetes()
    {
        _output.ResetWrittenCount();
        _kubernetes.Filter(_chunk, _output, out var written);
        return written;
    }

    [Benchmark]
    public int KubernetesThenGrep()
    {
        var result = _kubernetesThenGrep.Apply(_chunk, out var owner);
        owner?.Dispose();
        return result.EventCount;
    }

    private static ReadOnlyMemory<byte> ContainerLogEvents(int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        for (var i = 0; i < count; i++)
        {
            var level = i % 8 == 7 ? "debug" : "info";
            writer.WriteArrayHeader(2);
            EventWriter.WriteTime(ref writer, new EventTime(1_700_000_000, (uint)i));
            writer.WriteMapHeader(3);
            writer.Write("log");
            writer.Write($"{{\"level\":\"{level}\",\"ts\":\"2026-11-25T12:00:00.123Z\",\"msg\":\"GET /api/v1/items?id={i} 200\",\"latency_ms\":{i % 97},\"trace_id\":\"{i:x16}\"}}\n");
            writer.Write("stream");
            writer.Write("stdout");
            writer.Write("time");
            writer.Write("2026-11-25T12:00:00.123456789Z");
        }

        writer.Flush();
        return buffer.WrittenMemory;
    }

    private static string PodJson(int i) => $$$"""
        {"apiVersion":"v1","kind":"Pod",
         "metadata":{"name":"{{{SyntheticPods.PodName(i)}}}","namespace":"{{{SyntheticPods.Namespace(i)}}}","uid":"{{{SyntheticPods.Uid(i)}}}",
           "labels":{"app":"{{{SyntheticPods.DeploymentName(i)}}}","app.kubernetes.io/name":"{{{SyntheticPods.DeploymentName(i)}}}","app.kubernetes.io/part-of":"{{{SyntheticPods.Namespace(i)}}}","pod-template-hash":"{{{SyntheticPods.TemplateHash(i)}}}","version":"v1.0.3"},
           "annotations":{"kubectl.kubernetes.io/restartedAt":"2026-11-20T08:00:00Z","prometheus.io/scrape":"true","prometheus.io/port":"8080","kubernetes.io/psp":"eks.privileged"}},
         "spec":{"nodeName":"{{{SyntheticPods.NodeName(i)}}}","containers":[{"name":"app","image":"{{{SyntheticPods.Image(i)}}}"}]},
         "status":{"podIP":"{{{SyntheticPods.PodIp(i)}}}","containerStatuses":[{"name":"app","image":"{{{SyntheticPods.Image(i)}}}","imageID":"{{{SyntheticPods.ImageDigest(i)}}}","containerID":"containerd://{{{SyntheticPods.ContainerId(i)}}}"}]}}
        """;
}
