using System.Buffers;
using System.Collections.Concurrent;
using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Engine;

/// <summary>Builds chunks whose records carry an <c>id</c> field, and reads those ids back.</summary>
internal static class TestChunks
{
    /// <summary>A chunk of <paramref name="events"/> records with ids <c>{key}/0</c>, <c>{key}/1</c>, ...</summary>
    public static EventChunk Make(string tag, string key, int events = 3, int padding = 40, string? node = null)
    {
        var writer = new ArrayBufferWriter<byte>();
        var pad = new string('x', padding);
        for (var i = 0; i < events; i++)
        {
            EventWriter.WriteEvent(writer, new EventTime(1_700_000_000, (uint)i), [new("id", $"{key}/{i}"), new("msg", pad)]);
        }

        return new EventChunk(tag, writer.WrittenMemory.ToArray(), events, node);
    }

    /// <summary>The <c>id</c> field of every record in the bytes, in order.</summary>
    public static List<string> Ids(ReadOnlyMemory<byte> events)
    {
        var ids = new List<string>();
        var reader = new EventReader(events);
        while (reader.TryRead(out var view))
        {
            var map = new MessagePackReader(view.Record);
            var n = map.ReadMapHeader();
            for (var i = 0; i < n; i++)
            {
                var key = map.ReadString();
                if (key == "id")
                {
                    ids.Add(map.ReadString()!);
                }
                else
                {
                    map.Skip();
                }
            }
        }

        return ids;
    }

    /// <summary>The chunk key a record id came from (<c>key/i</c> → <c>key</c>).</summary>
    public static string KeyOf(string recordId) => recordId[..recordId.LastIndexOf('/')];
}

/// <summary>What an output got in one flush, copied (the engine's memory is only valid during the flush).</summary>
internal sealed record ReceivedChunk(string Tag, string? NodeName, int EventCount, byte[] Events)
{
    public List<string> Ids => TestChunks.Ids(Events);

    public string Key => TestChunks.KeyOf(Ids[0]);
}

/// <summary>
/// An output that records every flush and answers with <see cref="Behavior"/> (default Ok). Flushes are
/// numbered from 1 across the output's life.
/// </summary>
internal sealed class RecordingOutput : IOutput
{
    private int _attempts;

    public RecordingOutput(string name, Func<EventChunk, int, CancellationToken, ValueTask<FlushResult>>? behavior = null)
    {
        Name = name;
        Behavior = behavior ?? ((_, _, _) => ValueTask.FromResult(FlushResult.Ok));
    }

    public string Name { get; }

    public Func<EventChunk, int, CancellationToken, ValueTask<FlushResult>> Behavior { get; set; }

    /// <summary>Every flush attempt, whatever the answer.</summary>
    public ConcurrentQueue<ReceivedChunk> Attempts { get; } = new();

    /// <summary>Flushes answered Ok.</summary>
    public ConcurrentQueue<ReceivedChunk> Delivered { get; } = new();

    public int AttemptCount => Volatile.Read(ref _attempts);

    public bool Disposed { get; private set; }

    public List<string> DeliveredKeys => [.. Delivered.Select(c => c.Key)];

    public async ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        var received = new ReceivedChunk(chunk.Tag, chunk.NodeName, chunk.EventCount, chunk.Events.ToArray());
        Attempts.Enqueue(received);
        var attempt = Interlocked.Increment(ref _attempts);
        var result = await Behavior(chunk, attempt, cancellationToken);
        if (result == FlushResult.Ok)
        {
            Delivered.Enqueue(received);
        }

        return result;
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}

internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "gw-buffer-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Storage => System.IO.Path.Combine(Path, "storage");

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

internal static class Eventually
{
    /// <summary>Waits (bounded) until the condition holds; fails the test with the message otherwise.</summary>
    public static async Task TrueAsync(Func<bool> condition, string what, TimeSpan? timeout = null, Action? eachPoll = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out waiting for: {what}");
            }

            eachPoll?.Invoke();
            await Task.Delay(10);
        }
    }
}

internal static class TestEngines
{
    public static AggregatorEngine Create(BufferOptions options, params IOutput[] outputs) =>
        Create(options, null, outputs.Select(o => new OutputRegistration(o, new TagMatcher("*", null), new RetryPolicy(1, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(2000)))).ToArray());

    public static AggregatorEngine Create(BufferOptions options, TimeProvider? time, params OutputRegistration[] outputs) =>
        new(options, outputs, null, NullLoggerFactory.Instance, time);

    public static async Task<AggregatorEngine> StartAsync(AggregatorEngine engine)
    {
        await engine.StartAsync(CancellationToken.None);
        await engine.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        return engine;
    }

    /// <summary>An output behaviour that never answers until cancelled (a hung endpoint).</summary>
    public static async ValueTask<FlushResult> Hang(CancellationToken cancellationToken)
    {
        await Task.Delay(Timeout.Infinite, cancellationToken);
        return FlushResult.Ok;
    }
}
