using Gateway.Aggregator.Routing;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Routing;
using Microsoft.Extensions.Logging.Abstractions;
using static Gateway.Aggregator.Tests.Filters.FilterHarness;

namespace Gateway.Aggregator.Tests.Filters;

/// <summary>The hot path allocates per chunk at most, never per record.</summary>
public sealed class FilterAllocationTests
{
    [Fact]
    public void Seed_chain_allocation_does_not_grow_with_the_number_of_records()
    {
        var record = "{\"log\":\"line\",\"stream\":\"stdout\",\"_p\":\"F\",\"level\":\"info\",\"kubernetes\":{\"pod_name\":\"p\",\"namespace_name\":\"n\"," +
                     "\"annotations\":{\"fluentbit/enabled\":\"true\"},\"host\":\"h\",\"container_name\":\"c\",\"docker_id\":\"d\"}}";
        var filters = new List<(TagMatcher?, IFilter)>
        {
            (null, Filter(("Name", "grep"), ("Regex", "$kubernetes['annotations']['fluentbit/enabled'] true"))),
            (null, Filter(("Name", "grep"), ("Exclude", "level ^debug$"))),
            (null, Filter(("Name", "nest"), ("Operation", "lift"), ("Nested_under", "kubernetes"), ("Add_prefix", "k8s_"))),
            (null, Filter(("Name", "record_modifier"), ("Remove_key", "stream"), ("Remove_key", "k8s_annotations"))),
            (null, Filter(("Name", "modify"), ("Condition", "Key_exists level"), ("Rename", "log message"), ("Set", "env prod"))),
            (null, Filter(("Name", "nest"), ("Operation", "nest"), ("Wildcard", "k8s_*"), ("Nest_under", "kubernetes"), ("Remove_prefix", "k8s_"))),
        };
        var chain = new FilterChain(filters.ConvertAll(f => ((TagMatcher?)new TagMatcher("*", null), f.Item2)), NullLogger.Instance);
        var small = Chunk(Enumerable.Repeat(record, 10).ToArray());
        var large = Chunk(Enumerable.Repeat(record, 5000).ToArray());

        long Measure(Gateway.Engine.Records.EventChunk chunk)
        {
            var result = chain.Apply(chunk, out var owner); // warm up: pools, thread scratch, regex
            Assert.Equal(chunk.EventCount, result.EventCount);
            owner?.Dispose();
            var before = GC.GetAllocatedBytesForCurrentThread();
            result = chain.Apply(chunk, out owner);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            owner?.Dispose();
            return allocated;
        }

        var perSmallChunk = Measure(small);
        var perLargeChunk = Measure(large);
        Assert.True(perLargeChunk < perSmallChunk + (64 * 1024), $"10 records: {perSmallChunk} bytes, 5000 records: {perLargeChunk} bytes");
    }
}
