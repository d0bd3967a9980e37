using System.Diagnostics;
using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Routing;

namespace Gateway.Aggregator.Tests.Engine;

/// <summary>
/// A real process kill: a child process runs the engine on a storage directory and is killed (SIGKILL, whole
/// process tree) mid-stream; a new engine on the same directory must deliver every chunk the child acknowledged,
/// and must not deliver again what the child's output had already finished.
/// </summary>
public sealed class KillNineTests
{
    [Fact]
    public async Task Every_acknowledged_chunk_is_delivered_after_kill_9_and_restart()
    {
        using var dir = new TempDirectory();
        var deliveredFile = Path.Combine(dir.Path, "delivered-before-kill.txt");
        var acked = new List<string>();
        using (var child = StartChild(dir.Storage, deliveredFile))
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (acked.Count < 400)
            {
                var line = await child.StandardOutput.ReadLineAsync().WaitAsync(deadline - DateTime.UtcNow);
                if (line is null)
                {
                    Assert.Fail($"child exited early: {await child.StandardError.ReadToEndAsync()}");
                }

                if (line.StartsWith("ACK ", StringComparison.Ordinal))
                {
                    acked.Add(line[4..]);
                }
            }

            child.Kill(entireProcessTree: true);
            await child.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        // Only whole lines count: the child may have died mid-write.
        var text = File.ReadAllText(deliveredFile);
        var deliveredBefore = text[..(text.LastIndexOf('\n') + 1)].Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();

        var output = new RecordingOutput("out");
        var engine = new AggregatorEngine(
            new BufferOptions { StoragePath = dir.Storage },
            [new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(1, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)))],
            null,
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using var _ = engine;
        await TestEngines.StartAsync(engine);
        var replayed = engine.Metrics.ReplayedChunks;
        await Eventually.TrueAsync(() => output.Delivered.Count == replayed, "replayed chunks delivered", TimeSpan.FromSeconds(60));

        var deliveredAfter = output.DeliveredKeys;
        Assert.True(replayed > 0, "the kill left pending chunks (otherwise this test proved nothing)");
        var missing = acked.Where(k => !deliveredBefore.Contains(k) && !deliveredAfter.Contains(k)).ToList();
        Assert.True(missing.Count == 0, $"acknowledged but never delivered: {string.Join(", ", missing.Take(10))}");

        // Redelivered after the restart: at most the one flush in flight when the process died (delivered, but
        // killed before its journal entry was written).
        var redelivered = deliveredAfter.Where(deliveredBefore.Contains).ToList();
        Assert.True(redelivered.Count <= 1, $"delivered twice: {string.Join(", ", redelivered)}");
        Assert.Equal(deliveredAfter.Count, deliveredAfter.Distinct().Count());
        Assert.True(engine.Metrics.TornRecordsTruncated <= 2, "at most the frame and the journal entry being written were torn");
    }

    private static Process StartChild(string storage, string deliveredFile)
    {
        var dll = typeof(CrashChildProgram).Assembly.Location;
        var info = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add(CrashChildProgram.Mode);
        info.ArgumentList.Add(storage);
        info.ArgumentList.Add(deliveredFile);
        return Process.Start(info) ?? throw new InvalidOperationException("could not start the child process");
    }
}
