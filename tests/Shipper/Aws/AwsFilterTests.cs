using System.Buffers;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Shipper.Filters.Aws;
using Gateway.Shipper.Tests.Fakes;
using Gateway.Shipper.Tests.Support;
using MessagePack;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Shipper.Tests.Aws;

public sealed class AwsFilterTests : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly FakeImdsServer _imds = new FakeImdsServer().WithInstance();

    public async ValueTask DisposeAsync() => await _imds.DisposeAsync();

    [Fact]
    public async Task Defaults_add_az_then_instance_id_after_the_record_keys_fetched_once_with_a_token()
    {
        using var filter = NewFilter(new AwsFilterOptions());
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);

        var first = Run(filter, Chunk(("log", "a"), ("stream", "stdout")));
        var second = Run(filter, Chunk(("log", "b")));

        Assert.Equal(["log", "stream", "az", "ec2_instance_id"], Keys(first[0]));
        Assert.Equal("us-east-1a", first[0]["az"]);
        Assert.Equal("i-0123456789abcdef0", first[0]["ec2_instance_id"]);
        Assert.Equal(["log", "az", "ec2_instance_id"], Keys(second[0]));
        Assert.Equal(1, _imds.Requests("PUT", "/latest/api/token"));
        Assert.Equal(1, _imds.Requests("GET", "/latest/meta-data/instance-id"));
        Assert.Equal(1, _imds.Requests("GET", "/latest/meta-data/placement/availability-zone"));
        Assert.Equal(3, _imds.TotalRequests);
        Assert.True(filter.MetadataComplete);
    }

    [Fact]
    public async Task Every_option_adds_its_key_in_fluent_bit_order()
    {
        var options = new AwsFilterOptions
        {
            InstanceType = true, PrivateIp = true, VpcId = true, AmiId = true, AccountId = true, Hostname = true,
        };
        using var filter = NewFilter(options);
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);

        var ev = Assert.Single(Run(filter, Chunk(("message", "m"))));

        Assert.Equal(["message", "az", "ec2_instance_id", "ec2_instance_type", "private_ip", "vpc_id", "ami_id", "account_id", "hostname"], Keys(ev));
        Assert.Equal("m5.large", ev["ec2_instance_type"]);
        Assert.Equal("10.0.1.23", ev["private_ip"]);
        Assert.Equal("vpc-0abc", ev["vpc_id"]);
        Assert.Equal("ami-0def", ev["ami_id"]);
        Assert.Equal("123456789012", ev["account_id"]);
        Assert.Equal("ip-10-0-1-23.ec2.internal", ev["hostname"]);
    }

    [Fact]
    public async Task Imds_v1_against_a_v2_only_service_is_refused_and_records_pass_unmodified()
    {
        using var filter = NewFilter(new AwsFilterOptions { ImdsVersion = ImdsVersion.V1 });
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);

        var chunk = Chunk(("log", "a"));
        var outcome = filter.Filter(chunk, new ArrayBufferWriter<byte>(), out var count);

        Assert.Equal(FilterOutcome.NotTouched, outcome);
        Assert.Equal(1, count);
        Assert.Equal(0, _imds.Requests("PUT", "/latest/api/token"));
        Assert.Equal(1, _imds.Requests("GET", "/latest/meta-data/instance-id"));
        Assert.False(filter.MetadataComplete);
    }

    [Fact]
    public async Task Imds_v1_works_where_the_instance_allows_it_without_a_token()
    {
        _imds.AllowV1 = true;
        using var filter = NewFilter(new AwsFilterOptions { ImdsVersion = ImdsVersion.V1 });
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);

        var ev = Assert.Single(Run(filter, Chunk(("log", "a"))));

        Assert.Equal("i-0123456789abcdef0", ev["ec2_instance_id"]);
        Assert.Equal(0, _imds.TokensIssued);
    }

    [Fact]
    public async Task Unavailable_metadata_is_retried_only_after_retry_interval_and_then_added()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        _imds.Unavailable = true;
        using var filter = NewFilter(new AwsFilterOptions { RetryInterval = TimeSpan.FromSeconds(300) }, clock);
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);
        var afterFirstTry = _imds.TotalRequests;

        var outcome = filter.Filter(Chunk(("log", "a")), new ArrayBufferWriter<byte>(), out _);
        await filter.Metadata.RefreshIfDue().WaitAsync(Bound);
        Assert.Equal(FilterOutcome.NotTouched, outcome);
        Assert.Equal(afterFirstTry, _imds.TotalRequests); // not due yet

        _imds.Unavailable = false;
        clock.Advance(TimeSpan.FromSeconds(299));
        filter.Filter(Chunk(("log", "b")), new ArrayBufferWriter<byte>(), out _);
        await filter.Metadata.RefreshIfDue().WaitAsync(Bound);
        Assert.Equal(afterFirstTry, _imds.TotalRequests);

        clock.Advance(TimeSpan.FromSeconds(1));
        filter.Filter(Chunk(("log", "c")), new ArrayBufferWriter<byte>(), out _); // starts the due fetch
        await filter.Metadata.RefreshIfDue().WaitAsync(Bound);

        var ev = Assert.Single(Run(filter, Chunk(("log", "d"))));
        Assert.Equal("us-east-1a", ev["az"]);
        Assert.Equal("i-0123456789abcdef0", ev["ec2_instance_id"]);
        Assert.True(filter.MetadataComplete);
    }

    [Fact]
    public async Task Values_fetched_are_added_while_a_failed_one_waits_for_its_retry()
    {
        var clock = new FakeTimeProvider();
        _imds.Set("/latest/meta-data/ami-id", "ami-0def");
        await using var missing = new FakeImdsServer();
        missing.Set("/latest/meta-data/instance-id", "i-1");
        using var filter = NewFilter(new AwsFilterOptions { AmiId = true }, clock, missing.Endpoint);
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);

        var ev = Assert.Single(Run(filter, Chunk(("log", "a"))));

        // az and ami-id are 404 on this instance: only the instance id is added, the rest retried later.
        Assert.Equal(["log", "ec2_instance_id"], Keys(ev));
        Assert.False(filter.MetadataComplete);
    }

    [Fact]
    public async Task Expired_token_is_renewed_once_on_401()
    {
        using var client = new Ec2MetadataClient(_imds.Endpoint, ImdsVersion.V2, Bound, TimeProvider.System);

        Assert.Equal("m5.large", await client.GetAsync("/latest/meta-data/instance-type", CancellationToken.None));
        _imds.ExpireToken();
        Assert.Equal("m5.large", await client.GetAsync("/latest/meta-data/instance-type", CancellationToken.None));

        Assert.Equal(2, _imds.TokensIssued);
        Assert.Equal(3, _imds.Requests("GET", "/latest/meta-data/instance-type"));
    }

    [Fact]
    public async Task Tags_are_added_after_the_metadata_keys_filtered_by_tags_include()
    {
        _imds.Set("/latest/meta-data/tags/instance", "Name\nteam\ncost-center");
        _imds.Set("/latest/meta-data/tags/instance/Name", "node-a");
        _imds.Set("/latest/meta-data/tags/instance/team", "gateway");
        _imds.Set("/latest/meta-data/tags/instance/cost-center", "42");
        using var filter = NewFilter(new AwsFilterOptions { TagsEnabled = true, TagsInclude = ["Name", "team"] });
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);

        var ev = Assert.Single(Run(filter, Chunk(("log", "a"))));

        Assert.Equal(["log", "az", "ec2_instance_id", "Name", "team"], Keys(ev));
        Assert.Equal("gateway", ev["team"]);
        Assert.Equal(0, _imds.Requests("GET", "/latest/meta-data/tags/instance/cost-center"));
    }

    [Fact]
    public async Task No_tags_in_metadata_is_final_not_retried()
    {
        using var filter = NewFilter(new AwsFilterOptions { TagsEnabled = true, RetryInterval = TimeSpan.Zero });
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);
        Run(filter, Chunk(("log", "a")));
        await filter.Metadata.RefreshIfDue().WaitAsync(Bound);

        Assert.True(filter.MetadataComplete);
        Assert.Equal(1, _imds.Requests("GET", "/latest/meta-data/tags/instance"));
    }

    [Fact]
    public async Task Map_headers_grow_and_v2_events_keep_their_metadata()
    {
        using var filter = NewFilter(new AwsFilterOptions());
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);
        var fields = new (string, string)[14];
        for (var i = 0; i < fields.Length; i++)
        {
            fields[i] = ("k" + i, "v" + i);
        }

        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        EventWriter.WriteEventV2(ref writer, new EventTime(5, 6), [0x81, 0xa1, (byte)'m', 0x01], [0x80]);
        writer.Flush();
        EventWriter.WriteEvent(buffer, new EventTime(7, 8), ToPairs(fields));
        var chunk = new EventChunk("t", buffer.WrittenMemory.ToArray(), 2);

        var output = new ArrayBufferWriter<byte>();
        Assert.Equal(FilterOutcome.Modified, filter.Filter(chunk, output, out var count));
        Assert.Equal(2, count);

        var reader = new EventReader(output.WrittenMemory);
        Assert.True(reader.TryRead(out var v2));
        Assert.Equal(new EventTime(5, 6), v2.Time);
        Assert.Equal(new byte[] { 0x81, 0xa1, (byte)'m', 0x01 }, v2.Metadata.ToArray());
        Assert.True(reader.TryRead(out var wide));
        Assert.True(reader.End);
        var events = MsgpackRecords.Decode(output.WrittenMemory);
        Assert.Equal(["az", "ec2_instance_id"], Keys(events[0]));
        Assert.Equal(16, events[1].Fields.Count);
        Assert.Equal(0xde, wide.Record.Span[0]); // 16 pairs no longer fit a fixmap
        Assert.Equal(new EventTime(7, 8), events[1].Time);
    }

    [Fact]
    public async Task Filtering_does_not_allocate_per_record()
    {
        using var filter = NewFilter(new AwsFilterOptions());
        await filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound);
        var input = new ArrayBufferWriter<byte>();
        for (var i = 0; i < 10_000; i++)
        {
            EventWriter.WriteEvent(input, new EventTime(1, 0), [new("log", "line " + i)]);
        }

        var chunk = new EventChunk("t", input.WrittenMemory.ToArray(), 10_000);
        var output = new ArrayBufferWriter<byte>(chunk.ByteLength * 3);
        filter.Filter(chunk, output, out _); // warm up
        output.ResetWrittenCount();

        var before = GC.GetAllocatedBytesForCurrentThread();
        filter.Filter(chunk, output, out var count);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(10_000, count);
        Assert.True(allocated < 10_000, $"allocated {allocated} bytes for 10000 records");
    }

    [Fact]
    public void Malformed_chunk_passes_unmodified()
    {
        using var filter = NewFilter(new AwsFilterOptions());
        filter.InitializeAsync(CancellationToken.None).WaitAsync(Bound).GetAwaiter().GetResult();

        var outcome = filter.Filter(new EventChunk("t", new byte[] { 0x92, 0x01 }, 1), new ArrayBufferWriter<byte>(), out var count);

        Assert.Equal(FilterOutcome.NotTouched, outcome);
        Assert.Equal(1, count);
    }

    [Fact]
    public void Seed_container_insights_aws_filter_section_parses()
    {
        var env = new Dictionary<string, string?> { ["READ_FROM_TAIL"] = "On", ["READ_FROM_HEAD"] = "Off", ["AWS_REGION"] = "us-east-1", ["CLUSTER_NAME"] = "c", ["HOST_NAME"] = "h" };
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig("container-insights/dataplane-log.conf"), env);
        var found = 0;
        foreach (var section in doc.OfKind(SectionKind.Filter))
        {
            if (!string.Equals(section.PluginName, "aws", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var diagnostics = new List<ConfigDiagnostic>();
            var options = AwsFilterOptions.FromSection(section, diagnostics);
            Assert.Empty(diagnostics);
            Assert.NotNull(options);
            Assert.Equal(ImdsVersion.V2, options.ImdsVersion);
            Assert.True(options.AvailabilityZone);
            Assert.True(options.InstanceId);
            Assert.False(options.Hostname);
            found++;
        }

        Assert.Equal(1, found);
    }

    [Fact]
    public void Bad_options_are_errors_naming_the_line()
    {
        var doc = ClassicConfigReader.Parse(
            "[FILTER]\n    Name aws\n    Match *\n    imds_version v3\n    az maybe\n    retry_interval_s soon\n    tags_include a\n    tags_exclude b\n",
            "test.conf",
            new Dictionary<string, string?>());
        var diagnostics = new List<ConfigDiagnostic>();

        Assert.Null(AwsFilterOptions.FromSection(doc.Sections[0], diagnostics));
        Assert.Contains(diagnostics, d => d.Location.Line == 4 && d.Message.Contains("'v1' and 'v2'", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Location.Line == 5 && d.Message.Contains("az", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Location.Line == 6 && d.Message.Contains("retry_interval_s", StringComparison.Ordinal));
        Assert.Contains(diagnostics, d => d.Location.Line == 8 && d.Message.Contains("tags_include and tags_exclude", StringComparison.Ordinal));
    }

    private AwsFilter NewFilter(AwsFilterOptions options, TimeProvider? time = null, Uri? endpoint = null) =>
        new(options, new AwsFilterContext { ImdsEndpoint = endpoint ?? _imds.Endpoint, ImdsTimeout = Bound, Time = time ?? TimeProvider.System });

    private static EventChunk Chunk(params (string Key, string Value)[] fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        EventWriter.WriteEvent(buffer, new EventTime(1_700_000_000, 0), ToPairs(fields));
        return new EventChunk("kube.var.log", buffer.WrittenMemory.ToArray(), 1);
    }

    private static List<KeyValuePair<string, string>> ToPairs((string Key, string Value)[] fields)
    {
        var pairs = new List<KeyValuePair<string, string>>();
        foreach (var (k, v) in fields)
        {
            pairs.Add(new(k, v));
        }

        return pairs;
    }

    private static List<DecodedRecord> Run(AwsFilter filter, EventChunk chunk)
    {
        var output = new ArrayBufferWriter<byte>();
        var outcome = filter.Filter(chunk, output, out var count);
        Assert.Equal(FilterOutcome.Modified, outcome);
        Assert.Equal(chunk.EventCount, count);
        return MsgpackRecords.Decode(output.WrittenMemory);
    }

    private static string[] Keys(DecodedRecord ev)
    {
        var keys = new string[ev.Fields.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = ev.Fields[i].Key;
        }

        return keys;
    }
}
