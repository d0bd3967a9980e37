using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Shipper.Tests.Inputs.Tail;

public sealed class TailChunkPumpTests
{
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(5, 16)]
    [InlineData(6, 30)]
    [InlineData(1000, 30)]
    public void Backoff_DoublesFromTheInitialDelay_UpToTheCap(int attempt, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), SinkRetryBackoff.Default.DelayFor(attempt));

    [Fact]
    public async Task RefusedChunk_IsOfferedAgainAfterBackoff_AndAcknowledgedOnlyOnceTheSinkTookIt()
    {
        using var root = new TempNodeRoot();
        root.Write("/var/log/app/a.log", "one\ntwo\n");
        var section = Sections.Tail(("Path", "/var/log/app/a.log"), ("Tag", "app"), ("Read_from_Head", "On"), ("DB", "/state/a.db"), (TailInputOptions.PathRootKey, root.Root));
        var diagnostics = new List<Engine.Config.ConfigDiagnostic>();
        await using var input = TailInput.FromSection(section, new TailInputContext(), diagnostics)!;
        var sink = new FlakySink(failures: 2);
        var fake = new TimerCountingTimeProvider();
        var pump = new TailChunkPump(input, sink, time: fake);
        using var stop = new CancellationTokenSource();
        var run = input.RunAsync(stop.Token);
        var pumping = pump.RunAsync(stop.Token);

        await TailHarness.WaitUntil(() => sink.Attempts == 1, "the first (refused) attempt");
        Assert.Equal(1, input.Tracker.PendingChunks);
        await fake.WaitForTimersAsync(1);
        fake.Advance(TimeSpan.FromSeconds(1));
        await TailHarness.WaitUntil(() => sink.Attempts == 2, "the second (refused) attempt");
        await fake.WaitForTimersAsync(2);
        fake.Advance(TimeSpan.FromMilliseconds(1999));
        Assert.Equal(2, sink.Attempts);
        fake.Advance(TimeSpan.FromMilliseconds(1));
        await TailHarness.WaitUntil(() => input.Tracker.PendingChunks == 0, "the chunk to be acknowledged after the third attempt");

        Assert.Equal(3, sink.Attempts);
        Assert.Equal(2, pump.SinkFailures);
        var accepted = Assert.Single(sink.Accepted);
        Assert.Equal(2, accepted.EventCount);
        Assert.Equal(new FileInfo(root["/var/log/app/a.log"]).Length, input.Tracker.CommittedOffset(input.Tracker.KnownFiles().Single()));

        await stop.CancelAsync();
        await run;
        await pumping.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed class FlakySink : IChunkSink
    {
        private int _failuresLeft;
        private int _attempts;

        public FlakySink(int failures)
        {
            _failuresLeft = failures;
        }

        public int Attempts => Volatile.Read(ref _attempts);

        public List<EventChunk> Accepted { get; } = new();

        public ValueTask AppendAsync(EventChunk chunk, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _attempts);
            if (_failuresLeft-- > 0)
            {
                throw new IOException("aggregator unreachable");
            }

            Accepted.Add(chunk);
            return ValueTask.CompletedTask;
        }
    }
}
