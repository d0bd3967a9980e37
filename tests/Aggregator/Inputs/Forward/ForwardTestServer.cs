using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Gateway.Aggregator.Inputs.Forward;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

/// <summary>Stores every chunk; optionally holds appends until released (to prove acks wait for storage).</summary>
internal sealed class CollectingChunkSink : IChunkSink
{
    private readonly ConcurrentQueue<EventChunk> _chunks = new();
    private readonly SemaphoreSlim _appended = new(0);
    private volatile TaskCompletionSource _gate = CompletedGate();
    private int _appendsStarted;

    public bool KeepChunks { get; init; } = true;

    public IReadOnlyCollection<EventChunk> Chunks => _chunks;

    public int AppendsStarted => Volatile.Read(ref _appendsStarted);

    public long EventsStored;

    public void Block() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Release() => _gate.TrySetResult();

    public async ValueTask AppendAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _appendsStarted);
        await _gate.Task.WaitAsync(cancellationToken);
        if (KeepChunks)
        {
            // The handler lends the event bytes only until AppendAsync completes (they are pooled): keep a copy.
            _chunks.Enqueue(chunk.WithEvents(chunk.Events.ToArray(), chunk.EventCount));
        }

        Interlocked.Add(ref EventsStored, chunk.EventCount);
        _appended.Release();
    }

    public async Task WaitForChunksAsync(int count)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        for (var i = 0; i < count; i++)
        {
            await _appended.WaitAsync(timeout.Token);
        }
    }

    private static TaskCompletionSource CompletedGate()
    {
        var tcs = new TaskCompletionSource();
        tcs.SetResult();
        return tcs;
    }
}

internal sealed record CapturedLog(LogLevel Level, int EventId, string Message);

internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<CapturedLog> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue(new CapturedLog(logLevel, eventId.Id, formatter(state, exception)));
    }
}

internal sealed class TestMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        var meter = new Meter(options);
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            foreach (var meter in _meters)
            {
                meter.Dispose();
            }
        }
    }
}

/// <summary>Sums the Gateway meter's measurements for one forward input (by its unique name).</summary>
internal sealed class MetricCollector : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<string, long> _totals = new();
    private readonly string _input;

    public MetricCollector(string input)
    {
        _input = input;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ForwardInputMetrics.MeterName && instrument.Name.StartsWith("gateway.forward.", StringComparison.Ordinal))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? input = null;
            string? reason = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "input")
                {
                    input = tag.Value as string;
                }
                else if (tag.Key == "reason")
                {
                    reason = tag.Value as string;
                }
            }

            if (input != _input)
            {
                return;
            }

            _totals.AddOrUpdate(instrument.Name, value, (_, v) => v + value);
            if (reason is not null)
            {
                _totals.AddOrUpdate($"{instrument.Name}:{reason}", value, (_, v) => v + value);
            }
        });
        _listener.Start();
    }

    public long Get(string name) => _totals.TryGetValue(name, out var v) ? v : 0;

    public void Dispose() => _listener.Dispose();
}

/// <summary>A real Kestrel host on 127.0.0.1 (port 0) or a Unix socket serving one forward input.</summary>
internal sealed class ForwardTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ListenOptions _endpoint;
    private readonly TestMeterFactory _meters;

    private ForwardTestServer(WebApplication app, ListenOptions endpoint, TestMeterFactory meters, CollectingChunkSink sink, CapturingLoggerProvider logs, MetricCollector metrics, ForwardInputOptions options)
    {
        _app = app;
        _endpoint = endpoint;
        _meters = meters;
        Sink = sink;
        Logs = logs;
        Metrics = metrics;
        Options = options;
    }

    public CollectingChunkSink Sink { get; }

    public CapturingLoggerProvider Logs { get; }

    public MetricCollector Metrics { get; }

    public ForwardInputOptions Options { get; }

    public int Port => ((IPEndPoint)_endpoint.EndPoint).Port;

    public IReadOnlyList<CapturedLog> Rejections => Logs.Entries.Where(e => e.EventId == 1101).ToList();

    public static async Task<ForwardTestServer> StartAsync(ForwardInputOptions options, CollectingChunkSink? sink = null)
    {
        options = options with { Name = $"forward-test-{Guid.NewGuid():N}" };
        if (options.UnixPath is null)
        {
            options = options with { Listen = "127.0.0.1", Port = 0 };
        }

        sink ??= new CollectingChunkSink();
        var logs = new CapturingLoggerProvider();
        var meters = new TestMeterFactory();
        var metrics = new MetricCollector(options.Name);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        ListenOptions? endpoint = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var logger = kestrel.ApplicationServices.GetRequiredService<ILogger<ForwardConnectionHandler>>();
            var handler = new ForwardConnectionHandler(options, sink, new ForwardInputMetrics(meters, options.Name), logger);
            endpoint = kestrel.ListenForward(options, handler);
        });
        var app = builder.Build();
        await app.StartAsync();
        return new ForwardTestServer(app, endpoint!, meters, sink, logs, metrics, options);
    }

    public async ValueTask DisposeAsync()
    {
        Sink.Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
        Metrics.Dispose();
        _meters.Dispose();
    }
}
