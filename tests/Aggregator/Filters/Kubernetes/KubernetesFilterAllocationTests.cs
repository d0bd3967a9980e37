using System.Buffers;
using Gateway.Engine.Records;
using Gateway.FakeServices;
using Gateway.Tools;
using MessagePack;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>
/// The filter runs on the aggregator's hot path: once a tag's metadata is built, enriching a chunk (Merge_Log of a
/// JSON line, labels, annotations) allocates nothing per record.
/// </summary>
public sealed class KubernetesFilterAllocationTests
{
    [Fact]
    public async Task Enriching_a_chunk_of_a_known_pod_allocates_nothing_per_record()
    {
        await using var h = await KubernetesFilterHarness.StartAsync("Merge_Log On\nLabels On\nAnnotations On", server => server.PutPod(KubernetesFakeService.BuildPod(3)));
        const int Records = 1000;
        var chunk = new EventChunk(SyntheticPods.Tag(3), ContainerLogEvents(Records), Records);
        var output = new ArrayBufferWriter<byte>(4 * 1024 * 1024);

        // Synchronous from here: the thread-static scratch buffers and the per-thread allocation counter stay put.
        h.Filter.Filter(chunk, output, out _); // first chunk of the tag: builds and caches its metadata
        output.ResetWrittenCount();
        var before = GC.GetAllocatedBytesForCurrentThread();
        h.Filter.Filter(chunk, output, out var written);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(Records, written);
        Assert.True(allocated < Records, $"filtering {Records} records allocated {allocated} bytes");
    }

    private static byte[] ContainerLogEvents(int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        for (var i = 0; i < count; i++)
        {
            writer.WriteArrayHeader(2);
            EventWriter.WriteTime(ref writer, new EventTime(1_700_000_000, (uint)i));
            writer.WriteMapHeader(3);
            writer.Write("log");
            writer.Write($"{{\"level\":\"info\",\"msg\":\"GET /api/v1/items?id={i} 200\\n\",\"latency_ms\":{i % 97},\"ctx\":{{\"user\":\"u{i}\"}}}}\n");
            writer.Write("stream");
            writer.Write(i % 2 == 0 ? "stdout" : "stderr");
            writer.Write("time");
            writer.Write("2026-11-25T12:00:00.123456789Z");
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
