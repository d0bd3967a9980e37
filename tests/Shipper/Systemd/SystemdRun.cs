using Gateway.Shipper.Inputs.Systemd;
using Gateway.Shipper.Pipeline;
using Gateway.Shipper.Tests.Fakes;

namespace Gateway.Shipper.Tests.Systemd;

/// <summary>A running systemd input whose chunks are collected (and optionally acknowledged) in the background.</summary>
internal sealed class SystemdRun : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<InputChunk<JournalCursorToken>> _chunks = new();
    private readonly bool _autoAck;
    private Task _run = Task.CompletedTask;
    private Task _collect = Task.CompletedTask;

    private SystemdRun(SystemdInput input, bool autoAck)
    {
        Input = input;
        _autoAck = autoAck;
    }

    public SystemdInput Input { get; }

    public IReadOnlyList<InputChunk<JournalCursorToken>> Chunks
    {
        get
        {
            lock (_chunks)
            {
                return _chunks.ToArray();
            }
        }
    }

    public static SystemdRun Start(SystemdInputOptions options, bool autoAck)
    {
        var input = new SystemdInput(options, new SystemdInputContext { RestartDelay = TimeSpan.FromMilliseconds(200) });
        var run = new SystemdRun(input, autoAck);
        run._run = Task.Run(() => input.RunAsync(run._stop.Token));
        run._collect = Task.Run(run.CollectAsync);
        return run;
    }

    public List<(string Tag, DecodedRecord Event)> Events()
    {
        var result = new List<(string, DecodedRecord)>();
        foreach (var chunk in Chunks)
        {
            foreach (var ev in MsgpackRecords.Decode(chunk.Chunk.Events))
            {
                result.Add((chunk.Chunk.Tag, ev));
            }
        }

        return result;
    }

    public List<string> Messages()
    {
        var result = new List<string>();
        foreach (var (_, ev) in Events())
        {
            result.Add((string)ev["MESSAGE"]!);
        }

        return result;
    }

    public async Task WaitForMessageAsync(string message)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!Messages().Contains(message))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"'{message}' did not arrive within {Bound}; got [{string.Join(", ", Messages())}], dropped {Input.Stats.EntriesDropped}, restarts {Input.Stats.JournalctlRestarts}");
            }

            if (_run.IsCompleted)
            {
                await _run;
                throw new InvalidOperationException("the input stopped");
            }

            await Task.Delay(20);
        }
    }

    public async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Bound;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"not within {Bound}: {what}");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until journalctl has been started (it logs nothing here, so: a short settle after start).</summary>
    public async Task WaitForStartAsync() => await Task.Delay(500);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(Bound);
        await _collect.WaitAsync(Bound);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        await Input.DisposeAsync();
        _stop.Dispose();
    }

    private async Task CollectAsync()
    {
        await foreach (var chunk in Input.Chunks.ReadAllAsync())
        {
            lock (_chunks)
            {
                _chunks.Add(chunk);
            }

            if (_autoAck)
            {
                chunk.Acknowledge();
            }
        }
    }
}
