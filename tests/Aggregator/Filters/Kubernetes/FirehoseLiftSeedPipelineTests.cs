using Gateway.Engine.Config;

namespace Gateway.Aggregator.Tests.Filters.Kubernetes;

/// <summary>
/// Acceptance 2, firehose-lift seed: tail over <c>python-app-*.log</c> with its own <c>docker</c> parser
/// (<c>Decode_Field_As json log</c> turns the log into a map), <c>record_modifier Whitelist_key log</c>, then
/// <c>nest lift Nested_under log</c>: the record becomes the application's own JSON object. The event time is the
/// docker <c>time</c> (Time_Keep On, but the whitelist removes the key).
/// </summary>
public sealed class FirehoseLiftSeedPipelineTests
{
    private static readonly string[] Expected =
    [
        """1577521193.704659587 {"name":"fakenerd","time_ms":1577521193704}""",
        """1577521194.705860842 {"name":"fakenerd","time_ms":1577521194705}""",
    ];

    [Fact]
    public async Task Python_app_records_become_the_decoded_log_object()
    {
        var document = SeedPipeline.Load("firehose-lift/fluent-bit.conf");
        Assert.Empty(document.Diagnostics);
        await using var pipeline = await SeedPipeline.RunAsync(document, "kube.*", 2, document.OfKind(SectionKind.Filter));

        Assert.Equal(Expected, pipeline.Output("kube.", "python-app-"));
        Assert.Single(pipeline.Tags);
    }

    [Fact]
    public async Task Kubernetes_variant_merges_the_log_map_under_log_and_gives_the_same_records()
    {
        // kubernetes-variant.conf replaces the seed's filters: kubernetes (Merge_Log, Keep_Log Off,
        // Merge_Log_Key log) sees "log" already a map (MERGE_MAP), drops the original key and puts the map back
        // under "log" before "kubernetes"; the whitelist then keeps only "log" and nest lifts it.
        var document = SeedPipeline.Load("firehose-lift/fluent-bit.conf");
        var variant = ClassicConfigReader.Load(SeedPipeline.SeedFile("firehose-lift/kubernetes-variant.conf"), SeedPipeline.SeedEnvironment);
        Assert.Empty(variant.Diagnostics);
        await using var pipeline = await SeedPipeline.RunAsync(document, "kube.*", 2, variant.OfKind(SectionKind.Filter));

        Assert.Equal(Expected, pipeline.Output("kube.", "python-app-"));
    }
}
