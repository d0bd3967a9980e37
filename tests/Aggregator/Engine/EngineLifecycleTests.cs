using System.Diagnostics.Metrics;
using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Routing;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Engine;

public sealed class EngineLifecycleTests
{
    private static readonly TimeSpan Base = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(2000);

    private static OutputRegistration All(IOutput output) => new(output, new TagMatcher("*", null), new RetryPolicy(1, Base, Cap));

    [Fact]
    public async Task When_grace_runs_out_filesystem_chunks_stay_on_disk_for_the_next_start()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider();
        var options = new BufferOptions { StoragePath = dir.Storage, Grace = TimeSpan.FromSeconds(10) };
        var hung = new RecordingOutput("out", (_, _, ct) => TestEngines.Hang(ct));
        var engine1 = await TestEngines.StartAsync(TestEngines.Create(options, time, All(hung)));
        for (var i = 0; i < 3; i++)
        {
            await engine1.AppendAsync(TestChunks.Make("t", $"g{i}"), CancellationToken.None);
        }

        await Eventually.TrueAsync(() => hung.AttemptCount == 1, "first flush in flight");
        var stopping = engine1.StopAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => stopping.IsCompleted, "stopped once grace is over", eachPoll: () => time.Advance(TimeSpan.FromSeconds(5)));
        await stopping;
        Assert.Equal(0, engine1.Outputs[0].DroppedRecords); // on disk, not lost
        await engine1.DisposeAsync();

        var output = new RecordingOutput("out");
        await using var engine2 = await TestEngines.StartAsync(TestEngines.Create(options, null, All(output)));
        await Eventually.TrueAsync(() => output.Delivered.Count == 3, "replayed after restart");
        Assert.Equal(["g0", "g1", "g2"], output.DeliveredKeys);
    }

    [Fact]
    public async Task When_grace_runs_out_undelivered_memory_chunks_are_counted_as_dropped()
    {
        var time = new FakeTimeProvider();
        var hung = new RecordingOutput("out", (_, _, ct) => TestEngines.Hang(ct));
        await using var engine = await TestEngines.StartAsync(TestEngines.Create(new BufferOptions { Grace = TimeSpan.FromSeconds(1) }, time, All(hung)));
        for (var i = 0; i < 4; i++)
        {
            await engine.AppendAsync(TestChunks.Make("t", $"m{i}", events: 2), CancellationToken.None);
        }

        await Eventually.TrueAsync(() => hung.AttemptCount == 1, "first flush in flight");
        var stopping = engine.StopAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => stopping.IsCompleted, "stopped", eachPoll: () => time.Advance(TimeSpan.FromSeconds(1)));

        Assert.Equal(8, engine.Outputs[0].DroppedRecords);
        Assert.Equal(0, engine.MemoryBytes);
    }

    [Fact]
    public async Task Readiness_waits_for_replay_and_is_withdrawn_on_shutdown()
    {
        var engine = TestEngines.Create(new BufferOptions(), new RecordingOutput("out"));
        Assert.False(engine.IsReady);
        await engine.StartAsync(CancellationToken.None);
        await engine.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(engine.IsReady);
        await engine.StopAsync(CancellationToken.None);
        Assert.False(engine.IsReady);
        await engine.DisposeAsync();
    }

    [Fact]
    public async Task Counters_are_published_on_the_Gateway_meter()
    {
        using var dir = new TempDirectory();
        var rejecting = new RecordingOutput("rejecting", (_, _, _) => ValueTask.FromResult(FlushResult.Error));
        var options = new BufferOptions { StoragePath = dir.Storage, KeepRejected = false };
        await using var engine = await TestEngines.StartAsync(TestEngines.Create(options, rejecting));
        await engine.AppendAsync(TestChunks.Make("t", "x", events: 6), CancellationToken.None);
        await Eventually.TrueAsync(() => engine.Outputs[0].DroppedRecords == 6 && engine.MemoryBytes == 0, "rejected, dropped and released");

        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == engine.Metrics.Meter)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var name = instrument.Name;
            foreach (var tag in tags)
            {
                name += $"[{tag.Key}={tag.Value}]";
            }

            seen[name] = value;
        });
        listener.Start();
        listener.RecordObservableInstruments();

        Assert.Equal("Gateway", engine.Metrics.Meter.Name);
        Assert.Equal(1, seen["gateway.buffer.chunks_appended"]);
        Assert.Equal(6, seen["gateway.buffer.records_appended"]);
        Assert.True(seen["gateway.buffer.bytes_appended"] > 0);
        Assert.True(seen["gateway.buffer.disk_bytes"] > 0);
        Assert.Equal(0, seen["gateway.buffer.memory_bytes"]);
        Assert.Equal(0, seen["gateway.buffer.replayed_chunks"]);
        Assert.Equal(0, seen["gateway.buffer.torn_records_truncated"]);
        Assert.Equal(0, seen["gateway.buffer.backpressure_waits"]);
        Assert.Equal(6, seen["gateway.output.dropped[output=rejecting]"]);
        Assert.Equal(0, seen["gateway.output.dead_lettered[output=rejecting]"]);
        Assert.Equal(1, seen["gateway.output.chunks_queued[output=rejecting]"]);
    }
}

/// <summary>Filters that hold resources (a watch, an HTTP client) are released with the engine.</summary>
public sealed class EngineFilterDisposalTests
{
    [Fact]
    public async Task Disposing_the_engine_disposes_its_filters()
    {
        var asyncFilter = new DisposableFilter();
        var syncFilter = new DisposableFilter();
        var chain = new FilterChain([(new TagMatcher("*", null), (IFilter)asyncFilter), (null, syncFilter.AsSyncOnly())],
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var engine = new AggregatorEngine(new BufferOptions(), [], chain,
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        await engine.DisposeAsync();

        Assert.True(asyncFilter.Disposed);
        Assert.True(syncFilter.Disposed);
    }

    [Fact]
    public async Task Disposing_the_engine_twice_disposes_its_filters_once()
    {
        // The host's container disposes the engine twice (singleton and hosted service are the same instance).
        var filter = new DisposableFilter();
        var chain = new FilterChain([(new TagMatcher("*", null), (IFilter)filter)], Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        var engine = new AggregatorEngine(new BufferOptions(), [], chain, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        await engine.DisposeAsync();
        await engine.DisposeAsync();

        Assert.Equal(1, filter.DisposeCount);
    }

    private sealed class DisposableFilter : IFilter, IAsyncDisposable
    {
        public string Name => "disposable";

        public bool Disposed { get; private set; }

        public int DisposeCount { get; private set; }

        public FilterOutcome Filter(Gateway.Engine.Records.EventChunk chunk, System.Buffers.IBufferWriter<byte> output, out int outputEventCount)
        {
            outputEventCount = chunk.EventCount;
            return FilterOutcome.NotTouched;
        }

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            DisposeCount++;
            return ValueTask.CompletedTask;
        }

        public IFilter AsSyncOnly() => new SyncView(this);

        private sealed class SyncView(DisposableFilter owner) : IFilter, IDisposable
        {
            public string Name => owner.Name;

            public FilterOutcome Filter(Gateway.Engine.Records.EventChunk chunk, System.Buffers.IBufferWriter<byte> output, out int outputEventCount) =>
                owner.Filter(chunk, output, out outputEventCount);

            public void Dispose() => owner.Disposed = true;
        }
    }
}
