using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Routing;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;

namespace Gateway.Aggregator.Tests.Engine;

/// <summary>
/// The dispatcher's side of cross-chunk batching: an <see cref="IBatchingOutput"/> gets several chunks in flight
/// at once — never more than its window, started in queue order — and is told to send what it holds when the
/// window is full.
/// </summary>
public sealed class BatchingDispatchTests
{
    [Fact]
    public async Task A_batching_output_gets_its_window_of_chunks_in_queue_order_and_is_told_to_send_when_it_is_full()
    {
        var output = new HoldingBatchOutput(window: 4);
        var engine = TestEngines.Create(new BufferOptions(), output);
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        for (var i = 0; i < 20; i++)
        {
            await engine.AppendAsync(TestChunks.Make("t", $"k{i:D2}", events: 2), CancellationToken.None);
        }

        await Eventually.TrueAsync(() => engine.Outputs[0].FlushedChunks == 20, "all 20 chunks flushed");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"k{i:D2}"), output.Started);
        Assert.Equal(4, output.MaxSeenInFlight); // the window was used, and not exceeded
        Assert.True(output.SendPendingCalls > 0, "the output was never told to send while the window was full");
    }

    [Fact]
    public async Task Chunks_in_a_batching_output_stay_charged_to_the_memory_budget_until_their_flush_returns()
    {
        var output = new HoldingBatchOutput(window: 8) { ReleaseOnSendPending = false };
        var engine = TestEngines.Create(new BufferOptions(), output);
        await using var _ = engine;
        await TestEngines.StartAsync(engine);

        for (var i = 0; i < 3; i++)
        {
            await engine.AppendAsync(TestChunks.Make("t", $"k{i}", events: 2), CancellationToken.None);
        }

        await Eventually.TrueAsync(() => output.InFlight == 3, "three chunks inside the output");
        Assert.True(engine.MemoryBytes > 0, "chunks held by the output were released from the budget");

        output.ReleaseAll();
        await Eventually.TrueAsync(() => engine.Outputs[0].FlushedChunks == 3 && engine.MemoryBytes == 0, "released once flushed");
    }

    [Fact]
    public async Task Disk_chunks_are_released_while_the_output_holds_them_and_read_back_for_a_dead_letter()
    {
        using var dir = new TempDirectory();

        // No memory for chunks (all stay on disk) and backlog for about one: the window still fills, because a
        // batching output's disk chunk is let go once its flush waits.
        var options = new BufferOptions { StoragePath = dir.Storage, KeepRejected = true, ChunkMemoryLimitBytes = 1, BacklogMemLimitBytes = 3_000 };
        var output = new HoldingBatchOutput(window: 8) { ReleaseOnSendPending = false };
        var engine = TestEngines.Create(options, null, new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(1, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5))));
        await using var _ = engine;
        await TestEngines.StartAsync(engine);
        var sent = new List<EventChunk>();
        for (var i = 0; i < 5; i++)
        {
            var chunk = TestChunks.Make("disk", $"d{i}", events: 20);
            sent.Add(chunk);
            await engine.AppendAsync(chunk, CancellationToken.None);
        }

        // At most one chunk (~1.3 KB) fits the memory budget; the other four would need 5 KB of backlog loaded at once.
        await Eventually.TrueAsync(() => output.InFlight == 5, "five disk chunks inside the output at once");
        Assert.True(engine.MemoryBytes <= sent[0].ByteLength, $"{engine.MemoryBytes} bytes of chunks in memory");

        output.ReleaseAll(FlushResult.Error);

        await Eventually.TrueAsync(() => engine.Outputs[0].DeadLetteredChunks == 5, "all five dead-lettered");
        var files = Directory.GetFiles(Path.Combine(dir.Storage, "rejected", "holding.0"), "*.msgpack");
        Assert.Equal(
            sent.Select(c => Convert.ToHexString(c.Events.Span)).Order(),
            files.Select(f => Convert.ToHexString(File.ReadAllBytes(f))).Order());
    }

    /// <summary>Holds every flush until <see cref="SendPending"/> (or the test) releases them.</summary>
    private sealed class HoldingBatchOutput(int window) : IBatchingOutput
    {
        private readonly Lock _gate = new();
        private readonly List<TaskCompletionSource<FlushResult>> _held = [];
        private int _inFlight;
        private int _maxInFlight;
        private int _sendPendingCalls;

        public string Name => "holding.0";

        public int MaxChunksInFlight => window;

        public bool ReleaseOnSendPending { get; init; } = true;

        /// <summary>
        /// As a real batching output's flush interval: what is held goes at the latest this long after it came
        /// (with ReleaseOnSendPending). Without it the last few chunks of a run, too few to fill the window, would
        /// wait forever — the contract says a batching output sends on its own in time.
        /// </summary>
        public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(2);

        public List<string> Started { get; } = [];

        public int InFlight => Volatile.Read(ref _inFlight);

        public int MaxSeenInFlight => Volatile.Read(ref _maxInFlight);

        public int SendPendingCalls => Volatile.Read(ref _sendPendingCalls);

        public async ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
        {
            var done = new TaskCompletionSource<FlushResult>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                Started.Add(TestChunks.KeyOf(TestChunks.Ids(chunk.Events)[0]));
                _held.Add(done);
                _inFlight++;
                _maxInFlight = Math.Max(_maxInFlight, _inFlight);
            }

            if (ReleaseOnSendPending)
            {
                _ = Task.Delay(FlushInterval, CancellationToken.None).ContinueWith(_ => done.TrySetResult(FlushResult.Ok), TaskScheduler.Default);
            }

            try
            {
                return await done.Task.WaitAsync(cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
            }
        }

        public ValueTask WaitForRoomAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public void SendPending()
        {
            Interlocked.Increment(ref _sendPendingCalls);
            if (ReleaseOnSendPending)
            {
                ReleaseAll();
            }
        }

        public void ReleaseAll(FlushResult result = FlushResult.Ok)
        {
            TaskCompletionSource<FlushResult>[] held;
            lock (_gate)
            {
                held = [.. _held];
                _held.Clear();
            }

            foreach (var done in held)
            {
                done.TrySetResult(result);
            }
        }

        public ValueTask DisposeAsync()
        {
            ReleaseAll();
            return ValueTask.CompletedTask;
        }
    }
}
