using System.Buffers;
using System.Threading.Channels;
using Gateway.Aggregator.Buffer;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Engine;

/// <summary>
/// One output's queue and workers. Each worker takes a chunk, loads it if it is only on disk, flushes it and
/// acts on the answer: Ok marks it done, Retry waits a <see cref="RetryPolicy"/> backoff and flushes again, Error
/// or exhausted retries dead-letter it. Progress is per output: another output's failures never hold this one.
/// The queue holds chunk references only; its size is bounded by the buffer's memory and disk budgets that every
/// queued chunk was admitted under.
/// </summary>
internal sealed class OutputDispatcher
{
    private readonly OutputRegistration _registration;
    private readonly ChunkStore? _store;
    private readonly ByteBudget _backlogBudget;
    private readonly DeadLetterWriter? _deadLetters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<BufferedChunk> _queue;
    private readonly CancellationTokenSource _abort = new();
    private Task _completion = Task.CompletedTask;
    private long _queued;
    private long _queueDepth;
    private long _flushedChunks;
    private long _flushedRecords;
    private long _retries;
    private long _deadLetteredChunks;
    private long _deadLetteredRecords;
    private long _droppedChunks;
    private long _droppedRecords;

    public OutputDispatcher(
        int index, OutputRegistration registration, ChunkStore? store, ByteBudget backlogBudget, DeadLetterWriter? deadLetters, TimeProvider time, ILogger logger)
    {
        Index = index;
        _registration = registration;
        _store = store;
        _backlogBudget = backlogBudget;
        _deadLetters = deadLetters;
        _time = time;
        _logger = logger;
        Name = registration.Output.Name;
        JournalKey = SegmentFormat.OutputKey(Name);
        _queue = Channel.CreateUnbounded<BufferedChunk>(new UnboundedChannelOptions { SingleReader = registration.Workers == 1 });
    }

    public int Index { get; }

    public string Name { get; }

    public uint JournalKey { get; }

    public IOutput Output => _registration.Output;

    public long Queued => Volatile.Read(ref _queued);

    public long QueueDepth => Volatile.Read(ref _queueDepth);

    public long FlushedChunks => Volatile.Read(ref _flushedChunks);

    public long FlushedRecords => Volatile.Read(ref _flushedRecords);

    public long Retries => Volatile.Read(ref _retries);

    public long DeadLetteredChunks => Volatile.Read(ref _deadLetteredChunks);

    public long DeadLetteredRecords => Volatile.Read(ref _deadLetteredRecords);

    public long DroppedChunks => Volatile.Read(ref _droppedChunks);

    public long DroppedRecords => Volatile.Read(ref _droppedRecords);

    /// <summary>Completes when every worker has exited.</summary>
    public Task Completion => _completion;

    public void Start()
    {
        var workers = new Task[_registration.Workers];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = Task.Run(WorkerLoopAsync);
        }

        _completion = Task.WhenAll(workers);
    }

    /// <summary>Queues a chunk; false once the dispatcher no longer accepts work (shutdown).</summary>
    public bool Enqueue(BufferedChunk chunk)
    {
        if (!_queue.Writer.TryWrite(chunk))
        {
            return false;
        }

        Interlocked.Increment(ref _queued);
        Interlocked.Increment(ref _queueDepth);
        return true;
    }

    /// <summary>No more chunks: workers drain the queue and exit.</summary>
    public void CompleteAdding() => _queue.Writer.TryComplete();

    /// <summary>Grace is over: in-flight flushes are cancelled, retries stop, workers exit.</summary>
    public void Abort() => _abort.Cancel();

    /// <summary>Takes what is still queued after the workers exited (for shutdown accounting).</summary>
    public List<BufferedChunk> DrainLeftovers()
    {
        var left = new List<BufferedChunk>();
        while (_queue.Reader.TryRead(out var chunk))
        {
            Interlocked.Decrement(ref _queueDepth);
            left.Add(chunk);
        }

        return left;
    }

    private async Task WorkerLoopAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                while (!_abort.IsCancellationRequested && reader.TryRead(out var chunk))
                {
                    Interlocked.Decrement(ref _queueDepth);
                    if (!await ProcessAsync(chunk).ConfigureAwait(false))
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Grace period over; what is left stays on disk (or is counted lost, for memory chunks).
        }
    }

    /// <summary>Returns false when aborted with the chunk unfinished.</summary>
    private async Task<bool> ProcessAsync(BufferedChunk chunk)
    {
        var token = _abort.Token;
        byte[]? loaded = null;
        ReadOnlyMemory<byte> data;
        if (chunk.IsUp)
        {
            data = chunk.Data;
        }
        else
        {
            try
            {
                await _backlogBudget.ReserveAsync(chunk.Length, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            loaded = ArrayPool<byte>.Shared.Rent(chunk.Length);
            try
            {
                _store!.ReadPayload(chunk, loaded);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
                ArrayPool<byte>.Shared.Return(loaded);
                _backlogBudget.Release(chunk.Length);
                EngineLog.ChunkUnreadable(_logger, ex, Name, chunk.Id, chunk.Tag);
                CountDropped(chunk);
                Finish(chunk);
                return true;
            }

            data = loaded.AsMemory(0, chunk.Length);
        }

        try
        {
            return await FlushWithRetriesAsync(chunk, data, token).ConfigureAwait(false);
        }
        finally
        {
            if (loaded is not null)
            {
                ArrayPool<byte>.Shared.Return(loaded);
                _backlogBudget.Release(chunk.Length);
            }
        }
    }

    private async Task<bool> FlushWithRetriesAsync(BufferedChunk chunk, ReadOnlyMemory<byte> data, CancellationToken token)
    {
        var events = new EventChunk(chunk.Tag, data, chunk.EventCount, chunk.NodeName);
        var retry = 0;
        while (true)
        {
            FlushResult result;
            try
            {
                result = await _registration.Output.FlushAsync(events, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception ex)
            {
                EngineLog.FlushThrew(_logger, ex, Name, chunk.Id, chunk.Tag);
                result = FlushResult.Retry;
            }

            switch (result)
            {
                case FlushResult.Ok:
                    Interlocked.Increment(ref _flushedChunks);
                    Interlocked.Add(ref _flushedRecords, chunk.EventCount);
                    Finish(chunk);
                    return true;
                case FlushResult.Error:
                    Reject(chunk, data.Span, "the output returned Error");
                    return true;
            }

            retry++;
            if (!_registration.Retry.AllowsRetry(retry))
            {
                Reject(chunk, data.Span, retry == 1 ? "the output asked to retry and retries are off" : $"retries exhausted after {retry} attempts");
                return true;
            }

            Interlocked.Increment(ref _retries);
            var delay = _registration.Retry.Backoff(retry);
            EngineLog.RetryScheduled(_logger, Name, chunk.Id, chunk.Tag, chunk.EventCount, retry, delay);
            try
            {
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }
    }

    private void Reject(BufferedChunk chunk, ReadOnlySpan<byte> data, string reason)
    {
        if (_deadLetters is null)
        {
            CountDropped(chunk);
            EngineLog.Dropped(_logger, Name, chunk.Id, chunk.Tag, chunk.EventCount, reason);
        }
        else
        {
            try
            {
                var path = _deadLetters.Write(Name, chunk.Id, chunk.Tag, chunk.NodeName, chunk.EventCount, data, reason);
                Interlocked.Increment(ref _deadLetteredChunks);
                Interlocked.Add(ref _deadLetteredRecords, chunk.EventCount);
                EngineLog.DeadLettered(_logger, Name, chunk.Id, chunk.Tag, chunk.EventCount, reason, path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                CountDropped(chunk);
                EngineLog.DeadLetterFailed(_logger, ex, Name, chunk.Id, chunk.Tag, chunk.EventCount, reason);
            }
        }

        Finish(chunk);
    }

    private void CountDropped(BufferedChunk chunk)
    {
        Interlocked.Increment(ref _droppedChunks);
        Interlocked.Add(ref _droppedRecords, chunk.EventCount);
    }

    /// <summary>This output is done with the chunk: journal it (filesystem) so a restart skips it, then release.</summary>
    private void Finish(BufferedChunk chunk)
    {
        if (chunk.Segment is { } segment)
        {
            try
            {
                segment.RecordDone(chunk.Id, JournalKey);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException)
            {
                EngineLog.JournalFailed(_logger, ex, Name, chunk.Id);
            }
        }

        chunk.OutputFinished();
    }
}
