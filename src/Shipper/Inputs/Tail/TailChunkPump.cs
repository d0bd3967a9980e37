using Gateway.Engine.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>
/// Exponential backoff for re-offering a chunk the sink refused: base × 2^(attempt-1), capped. Deterministic (no
/// jitter) because there is one pump per input and nothing to de-synchronise.
/// </summary>
internal sealed class SinkRetryBackoff
{
    public SinkRetryBackoff(TimeSpan initial, TimeSpan maximum)
    {
        if (initial <= TimeSpan.Zero || maximum < initial)
        {
            throw new ArgumentOutOfRangeException(nameof(initial), "need 0 < initial <= maximum");
        }

        Initial = initial;
        Maximum = maximum;
    }

    public static SinkRetryBackoff Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    public TimeSpan Initial { get; }

    public TimeSpan Maximum { get; }

    /// <summary>The wait before retry number <paramref name="attempt"/> (1-based).</summary>
    public TimeSpan DelayFor(int attempt)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var ticks = Initial.Ticks * (double)(1L << exponent);
        return ticks >= Maximum.Ticks ? Maximum : TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>
/// Connects a <see cref="TailInput"/> to an <see cref="IChunkSink"/> (the forward client to the aggregator, or a
/// local buffer): each chunk is appended, in order, and acknowledged once <see cref="IChunkSink.AppendAsync"/>
/// completed, which is when the sink has it. A sink failure never drops the chunk: it is offered again after a
/// backoff until the sink takes it or the pump is cancelled (then the offsets stay and it is read again on restart).
/// </summary>
public sealed class TailChunkPump
{
    private readonly TailInput _input;
    private readonly IChunkSink _sink;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SinkRetryBackoff _backoff;

    public TailChunkPump(TailInput input, IChunkSink sink, ILogger? logger = null, TimeProvider? time = null)
        : this(input, sink, logger, time, SinkRetryBackoff.Default)
    {
    }

    internal TailChunkPump(TailInput input, IChunkSink sink, ILogger? logger, TimeProvider? time, SinkRetryBackoff backoff)
    {
        _input = input;
        _sink = sink;
        _logger = logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        _backoff = backoff;
    }

    /// <summary>Chunks the sink refused at least once (each retry counts).</summary>
    public long SinkFailures { get; private set; }

    /// <summary>Runs until the input completes or <paramref name="cancellationToken"/> is cancelled (then returns normally).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PumpAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The chunk in hand (if any) stays unacknowledged: it is read again on the next start.
        }
    }

    private async Task PumpAsync(CancellationToken cancellationToken)
    {
        await foreach (var chunk in _input.Chunks.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await _sink.AppendAsync(chunk.Chunk, cancellationToken).ConfigureAwait(false);
                    chunk.Acknowledge();
                    break;
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                {
                    SinkFailures++;
                    var delay = _backoff.DelayFor(attempt);
                    PumpLog.SinkFailed(_logger, chunk.Chunk.Tag, attempt, delay, ex.Message);
                    await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }
}

internal static partial class PumpLog
{
    [LoggerMessage(EventId = 2020, Level = LogLevel.Warning, Message = "tail: sink refused a chunk of {Tag} (attempt {Attempt}): {Reason}; offering it again in {Delay}")]
    public static partial void SinkFailed(ILogger logger, string tag, int attempt, TimeSpan delay, string reason);
}
