using System.Threading.Channels;
using Gateway.Protos.V1;
using Microsoft.Extensions.Logging;

namespace Gateway.Protos.Client;

/// <summary>
/// An <see cref="ILoggerProvider"/> that ships log entries to the aggregator through <see cref="GatewayLogClient"/>:
/// each entry becomes an event with <c>message</c>, <c>level</c>, <c>category</c>, <c>event_id</c>/<c>event_name</c>
/// (when set), <c>exception</c> (when set) and the structured-logging arguments as their own fields. Logging never
/// blocks the app: entries go to a bounded queue (<see cref="GatewayLoggerOptions.QueueCapacity"/>; beyond it they
/// are dropped and counted in <see cref="Dropped"/>), and one background loop sends them in batches on the stream,
/// resending a batch until it is acknowledged (with backoff up to 30 s) so nothing acknowledged is lost and nothing
/// is silently skipped while the aggregator restarts.
/// </summary>
[ProviderAlias("Gateway")]
public sealed class GatewayLoggerProvider : ILoggerProvider
{
    private readonly GatewayLoggerOptions _options;
    private readonly GatewayLogClient _client;
    private readonly Channel<Event> _queue;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _sending;
    private long _dropped;
    private long _sent;
    private bool _disposed;

    public GatewayLoggerProvider(GatewayLoggerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _client = new GatewayLogClient(options.Client ?? new GatewayLogClientOptions { Address = options.Address, BearerToken = options.BearerToken, DefaultTag = options.Tag });
        _queue = Channel.CreateBounded<Event>(new BoundedChannelOptions(Math.Max(1, options.QueueCapacity))
        {
            // Wait, not DropWrite: with Wait a full queue makes TryWrite return false (never blocks), so a dropped
            // entry is counted; DropWrite would report success and lose it silently.
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _sending = Task.Run(SendLoopAsync);
    }

    /// <summary>Entries dropped because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Entries the aggregator acknowledged.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public ILogger CreateLogger(string categoryName) => new GatewayLogger(this, categoryName);

    /// <summary>Stops accepting entries and waits up to the shutdown timeout for the queued ones to be acknowledged.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _queue.Writer.TryComplete();
        if (!_sending.Wait(_options.ShutdownTimeout))
        {
            _stopping.Cancel();
            _sending.Wait(TimeSpan.FromSeconds(1));
        }

        _client.Dispose();
        _stopping.Dispose();
    }

    private void Enqueue(Event e)
    {
        if (!_queue.Writer.TryWrite(e))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    private async Task SendLoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Event>(_options.MaxBatchSize);
        var token = _stopping.Token;
        try
        {
            while (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                // Give a trickle of entries a moment to become a batch instead of one call per entry.
                using (var linger = CancellationTokenSource.CreateLinkedTokenSource(token))
                {
                    linger.CancelAfter(_options.FlushInterval);
                    while (batch.Count < _options.MaxBatchSize)
                    {
                        if (reader.TryRead(out var e))
                        {
                            batch.Add(e);
                            continue;
                        }

                        try
                        {
                            if (!await reader.WaitToReadAsync(linger.Token).ConfigureAwait(false))
                            {
                                break;
                            }
                        }
                        catch (OperationCanceledException) when (!token.IsCancellationRequested)
                        {
                            break;
                        }
                    }
                }

                await SendUntilAcknowledgedAsync(batch, token).ConfigureAwait(false);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Shutdown timeout: what is still queued is lost, the app is exiting.
        }
    }

    private async Task SendUntilAcknowledgedAsync(List<Event> events, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(100);
        var batch = _client.CreateBatch(events);
        while (true)
        {
            try
            {
                var ack = await _client.SendAsync(batch, cancellationToken).ConfigureAwait(false);
                Interlocked.Add(ref _sent, ack.Accepted);
                return;
            }
            catch (Grpc.Core.RpcException ex) when (ex.StatusCode is Grpc.Core.StatusCode.InvalidArgument or Grpc.Core.StatusCode.ResourceExhausted)
            {
                // Refused as malformed or too large: resending the same bytes would be refused forever.
                Interlocked.Add(ref _dropped, events.Count);
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    private sealed class GatewayLogger(GatewayLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel) || provider._disposed)
            {
                return;
            }

            var e = new Event { TimeUnixNano = GatewayValues.ToUnixNanoseconds(DateTimeOffset.UtcNow) };
            var body = e.Body;
            body["message"] = new Value { StringValue = formatter(state, exception) };
            body["level"] = new Value { StringValue = LevelName(logLevel) };
            body["category"] = new Value { StringValue = category };
            if (eventId.Id != 0)
            {
                body["event_id"] = new Value { IntValue = eventId.Id };
            }

            if (eventId.Name is { Length: > 0 } name)
            {
                body["event_name"] = new Value { StringValue = name };
            }

            if (exception is not null)
            {
                body["exception"] = new Value { StringValue = exception.ToString() };
            }

            if (state is IReadOnlyList<KeyValuePair<string, object?>> arguments)
            {
                for (var i = 0; i < arguments.Count; i++)
                {
                    var (key, value) = arguments[i];

                    // The message template is in "message" already, rendered; the arguments are what is worth querying.
                    if (key != "{OriginalFormat}" && !body.ContainsKey(key))
                    {
                        body[key] = GatewayValues.From(value);
                    }
                }
            }

            provider.Enqueue(e);
        }

        private static string LevelName(LogLevel level) => level switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "error",
            LogLevel.Critical => "fatal",
            _ => "none",
        };
    }
}
