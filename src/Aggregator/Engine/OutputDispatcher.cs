using System.Buffers;
using Gateway.Engine.Buffers;
using System.Collections.Concurrent;
using System.Threading.Channels;
using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Engine;

/// <summary>
/// One output's queue and workers. A worker takes a chunk, loads it if it is only on disk, flushes it and acts on
/// the answer: Ok marks it done; Retry schedules it back into the queue after a <see cref="RetryPolicy"/> backoff
/// (as Fluent Bit's scheduler: the worker moves on to other chunks meanwhile); Error or exhausted retries
/// dead-letter it. Progress is per output: another output's failures never hold this one. The queue holds chunk
/// references only; its size is bounded by the memory and disk budgets every queued chunk was admitted under.
/// An <see cref="IBatchingOutput"/> gets its chunks pipelined: a worker starts the next chunk's flush without
/// waiting for the previous one to finish, up to the output's in-flight window, so the output can fill its
/// requests from many chunks.
/// </summary>
internal sealed class OutputDispatcher
{
    private readonly OutputRegistration _registration;
    private readonly ChunkStore? _store;
    private readonly ByteBudget _backlogBudget;
    private readonly DeadLetterWriter? _deadLetters;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<QueuedChunk> _queue;
    private readonly CancellationTokenSource _abort = new();
    private readonly List<BufferedChunk> _abandoned = [];
    private readonly ConcurrentDictionary<ScheduledRetry, bool> _scheduledRetries = new();
    private readonly IBatchingOutput? _batching;
    private readonly SemaphoreSlim? _window;
    private Task _completion = Task.CompletedTask;
    private volatile bool _draining;
    private long _queued;
    private long _queueDepth;
    private long _inFlight;
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
        _queue = Channel.CreateUnbounded<QueuedChunk>(new UnboundedChannelOptions { SingleReader = registration.Workers == 1 });
        if (registration.Output is IBatchingOutput batching && batching.MaxChunksInFlight > 1)
        {
            _batching = batching;
            _window = new SemaphoreSlim(batching.MaxChunksInFlight, batching.MaxChunksInFlight);
        }
    }

    public int Index { get; }

    public string Name { get; }

    public uint JournalKey { get; }

    public IOutput Output => _registration.Output;

    public long Queued => Volatile.Read(ref _queued);

    /// <summary>Chunks waiting for a worker, plus those waiting out a retry backoff.</summary>
    public long QueueDepth => Volatile.Read(ref _queueDepth) + _scheduledRetries.Count;

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
            workers[i] = _window is null ? Task.Run(WorkerLoopAsync) : Task.Run(PipelinedWorkerLoopAsync);
        }

        _completion = Task.WhenAll(workers);
    }

    /// <summary>Queues a chunk; false once the dispatcher no longer accepts work (shutdown).</summary>
    public bool Enqueue(BufferedChunk chunk)
    {
        if (!TryQueue(new QueuedChunk(chunk, 0)))
        {
            return false;
        }

        Interlocked.Increment(ref _queued);
        return true;
    }

    /// <summary>
    /// No more new chunks: workers finish the queue and pending retries, then exit. (Grace bounds this; see
    /// <see cref="Abort"/>.)
    /// </summary>
    public void CompleteAdding()
    {
        _draining = true;

        // A batching output would otherwise hold its last records for up to its flush interval of the grace.
        _batching?.SendPending();
        CompleteIfDrained();
    }

    /// <summary>Grace is over: in-flight flushes are cancelled, scheduled retries dropped, workers exit.</summary>
    public void Abort()
    {
        _abort.Cancel();
        _queue.Writer.TryComplete();
        foreach (var retry in _scheduledRetries.Keys)
        {
            if (_scheduledRetries.TryRemove(retry, out _))
            {
                retry.Timer?.Dispose();
                Abandon(retry.Chunk);
            }
        }
    }

    /// <summary>
    /// Takes what is unfinished after the workers exited (still queued, waiting for a retry, or cut off mid-flush
    /// by the end of grace). Memory chunks among them are lost and counted as dropped; filesystem ones wait on
    /// disk for the next start.
    /// </summary>
    public List<BufferedChunk> DrainLeftovers()
    {
        List<BufferedChunk> left;
        lock (_abandoned)
        {
            left = [.. _abandoned];
            _abandoned.Clear();
        }

        while (_queue.Reader.TryRead(out var item))
        {
            Interlocked.Decrement(ref _queueDepth);
            left.Add(item.Chunk);
        }

        foreach (var chunk in left)
        {
            if (chunk.Segment is null)
            {
                CountDropped(chunk);
            }
        }

        return left;
    }

    private bool TryQueue(QueuedChunk item)
    {
        // Depth goes up before the write so the drain check never sees an empty queue holding an item.
        Interlocked.Increment(ref _queueDepth);
        if (_queue.Writer.TryWrite(item))
        {
            return true;
        }

        Interlocked.Decrement(ref _queueDepth);
        return false;
    }

    /// <summary>
    /// While draining, the queue closes once nothing is queued, being flushed or waiting for a retry — a retry
    /// scheduled during shutdown still gets its chance within grace.
    /// </summary>
    private void CompleteIfDrained()
    {
        if (_draining && Volatile.Read(ref _queueDepth) == 0 && Volatile.Read(ref _inFlight) == 0 && _scheduledRetries.IsEmpty)
        {
            _queue.Writer.TryComplete();
        }
    }

    private async Task WorkerLoopAsync()
    {
        var reader = _queue.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                while (!_abort.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _inFlight);
                    if (!reader.TryRead(out var item))
                    {
                        Interlocked.Decrement(ref _inFlight);
                        CompleteIfDrained();
                        break;
                    }

                    Interlocked.Decrement(ref _queueDepth);
                    var finished = await ProcessAsync(item).ConfigureAwait(false);
                    Interlocked.Decrement(ref _inFlight);
                    if (!finished)
                    {
                        Abandon(item.Chunk);
                        return;
                    }

                    CompleteIfDrained();
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Grace period over; what is left stays on disk (or is counted lost, for memory chunks).
        }
    }

    /// <summary>
    /// The worker of a batching output: loads chunks and starts their flushes in queue order, one at a time, but
    /// does not wait for a flush to finish before starting the next — up to the output's window, and only while
    /// the output has room (its own memory bound). When the window or the backlog budget is full the output is
    /// told to send what it holds, so a stalled engine never waits out the output's flush interval.
    /// </summary>
    private async Task PipelinedWorkerLoopAsync()
    {
        var reader = _queue.Reader;
        var window = _window!;
        var flushes = new List<Task>();
        try
        {
            while (await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                while (!_abort.IsCancellationRequested)
                {
                    var slot = window.WaitAsync(_abort.Token);
                    if (!slot.IsCompleted)
                    {
                        _batching!.SendPending();
                    }

                    await slot.ConfigureAwait(false);
                    Interlocked.Increment(ref _inFlight);
                    if (!reader.TryRead(out var item))
                    {
                        Interlocked.Decrement(ref _inFlight);
                        window.Release();
                        CompleteIfDrained();
                        break;
                    }

                    Interlocked.Decrement(ref _queueDepth);
                    var room = _batching!.WaitForRoomAsync(_abort.Token);
                    LoadedChunk loaded;
                    try
                    {
                        await room.ConfigureAwait(false);
                        loaded = await LoadAsync(item.Chunk).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (_abort.IsCancellationRequested)
                    {
                        loaded = new LoadedChunk(LoadOutcome.Aborted, default, null);
                    }

                    if (loaded.Outcome != LoadOutcome.Loaded)
                    {
                        Interlocked.Decrement(ref _inFlight);
                        window.Release();
                        if (loaded.Outcome == LoadOutcome.Aborted)
                        {
                            Abandon(item.Chunk);
                            return;
                        }

                        CompleteIfDrained();
                        continue;
                    }

                    if (flushes.Count >= 2 * _batching.MaxChunksInFlight)
                    {
                        flushes.RemoveAll(static t => t.IsCompleted);
                    }

                    // Started here, in queue order; the flush runs until its records are all in the output's batches.
                    flushes.Add(FlushInWindowAsync(item, loaded));
                }
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            // Grace period over; what is left stays on disk (or is counted lost, for memory chunks).
        }
        finally
        {
            // In-flight flushes see the abort too; wait for them so Completion means every chunk is accounted for.
            await Task.WhenAll(flushes).ConfigureAwait(false);
        }
    }

    private async Task FlushInWindowAsync(QueuedChunk item, LoadedChunk loaded)
    {
        bool finished;
        try
        {
            var flush = StartFlush(item.Chunk, loaded.Data, _abort.Token);
            if (!flush.IsCompleted && loaded.Rented is not null)
            {
                // A batching output has copied what it keeps by the time its flush waits (IBatchingOutput), and a
                // chunk read from disk is still on disk: its bytes need not stay loaded, nor hold the backlog
                // budget, while its records wait for a request — other chunks can load meanwhile.
                loaded.Release(_backlogBudget);
                loaded = new LoadedChunk(LoadOutcome.Loaded, ReadOnlyMemory<byte>.Empty, null);
            }

            finished = await SettleAsync(item, flush, loaded.Data, _abort.Token).ConfigureAwait(false);
        }
        finally
        {
            loaded.Release(_backlogBudget);
            Interlocked.Decrement(ref _inFlight);
            _window!.Release();
        }

        if (!finished)
        {
            Abandon(item.Chunk);
            return;
        }

        CompleteIfDrained();
    }

    /// <summary>The chunk's bytes: in memory already, or read from its segment under the backlog budget.</summary>
    private async ValueTask<LoadedChunk> LoadAsync(BufferedChunk chunk)
    {
        if (chunk.IsUp)
        {
            return new LoadedChunk(LoadOutcome.Loaded, chunk.Data, null);
        }

        try
        {
            var reserve = _backlogBudget.ReserveAsync(chunk.Length, _abort.Token);
            if (!reserve.IsCompleted)
            {
                // Chunks held by the output count against this budget: let it send them rather than wait.
                _batching?.SendPending();
            }

            await reserve.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return new LoadedChunk(LoadOutcome.Aborted, default, null);
        }

        var loaded = ChunkBufferPool.Shared.Rent(chunk.Length);
        try
        {
            _store!.ReadPayload(chunk, loaded);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            ChunkBufferPool.Shared.Return(loaded);
            _backlogBudget.Release(chunk.Length);
            EngineLog.ChunkUnreadable(_logger, ex, Name, chunk.Id, chunk.Tag);
            CountDropped(chunk);
            Finish(chunk);
            return new LoadedChunk(LoadOutcome.Unreadable, default, null);
        }

        return new LoadedChunk(LoadOutcome.Loaded, loaded.AsMemory(0, chunk.Length), loaded);
    }

    /// <summary>Returns false when aborted with the chunk unfinished.</summary>
    private async Task<bool> ProcessAsync(QueuedChunk item)
    {
        var chunk = item.Chunk;
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

            loaded = ChunkBufferPool.Shared.Rent(chunk.Length);
            try
            {
                _store!.ReadPayload(chunk, loaded);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
            {
                ChunkBufferPool.Shared.Return(loaded);
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
            return await FlushAsync(item, data, token).ConfigureAwait(false);
        }
        finally
        {
            if (loaded is not null)
            {
                ChunkBufferPool.Shared.Return(loaded);
                _backlogBudget.Release(chunk.Length);
            }
        }
    }

    private Task<bool> FlushAsync(QueuedChunk item, ReadOnlyMemory<byte> data, CancellationToken token) =>
        SettleAsync(item, StartFlush(item.Chunk, data, token), data, token);

    /// <summary>Calls the output; a synchronous throw becomes the returned task's fault, handled with the rest.</summary>
    private ValueTask<FlushResult> StartFlush(BufferedChunk chunk, ReadOnlyMemory<byte> data, CancellationToken token)
    {
        try
        {
            return _registration.Output.FlushAsync(new EventChunk(chunk.Tag, data, chunk.EventCount, chunk.NodeName), token);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<FlushResult>(ex);
        }
    }

    /// <summary>
    /// Acts on the output's answer. <paramref name="data"/> is empty when the chunk's bytes were released early (a
    /// batching output's disk chunk); a dead-letter file then reads them from the segment again.
    /// </summary>
    private async Task<bool> SettleAsync(QueuedChunk item, ValueTask<FlushResult> flush, ReadOnlyMemory<byte> data, CancellationToken token)
    {
        var chunk = item.Chunk;
        FlushResult result;
        try
        {
            result = await flush.ConfigureAwait(false);
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
                await RejectAsync(chunk, data, "the output returned Error").ConfigureAwait(false);
                return true;
        }

        var retry = item.Retries + 1;
        if (!_registration.Retry.AllowsRetry(retry))
        {
            await RejectAsync(chunk, data, retry == 1 ? "the output asked to retry and retries are off" : $"retries exhausted after {retry} attempts").ConfigureAwait(false);
            return true;
        }

        Interlocked.Increment(ref _retries);
        var delay = _registration.Retry.Backoff(retry);
        EngineLog.RetryScheduled(_logger, Name, chunk.Id, chunk.Tag, chunk.EventCount, retry, delay);
        var scheduled = new ScheduledRetry(new QueuedChunk(chunk, retry), this);
        _scheduledRetries[scheduled] = true;
        scheduled.Timer = _time.CreateTimer(static s => ((ScheduledRetry)s!).Owner.RetryDue((ScheduledRetry)s!), scheduled, delay, Timeout.InfiniteTimeSpan);
        return true;
    }

    private void RetryDue(ScheduledRetry retry)
    {
        if (!_scheduledRetries.TryRemove(retry, out _))
        {
            return; // aborted meanwhile
        }

        retry.Timer?.Dispose();
        if (!TryQueue(retry.Item))
        {
            Abandon(retry.Item.Chunk);
        }

        CompleteIfDrained();
    }

    private void Abandon(BufferedChunk chunk)
    {
        lock (_abandoned)
        {
            _abandoned.Add(chunk);
        }
    }

    private async ValueTask RejectAsync(BufferedChunk chunk, ReadOnlyMemory<byte> data, string reason)
    {
        if (!data.IsEmpty || chunk.Length == 0 || chunk.IsUp || _store is null)
        {
            Reject(chunk, data.Span, reason);
            return;
        }

        // Released early while a batching output held its records: read the bytes back for the dead-letter file.
        var loaded = await LoadAsync(chunk).ConfigureAwait(false);
        if (loaded.Outcome == LoadOutcome.Loaded)
        {
            try
            {
                Reject(chunk, loaded.Data.Span, reason);
            }
            finally
            {
                loaded.Release(_backlogBudget);
            }
        }
        else if (loaded.Outcome == LoadOutcome.Aborted)
        {
            Abandon(chunk);
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

    private enum LoadOutcome
    {
        Loaded,
        Unreadable,
        Aborted,
    }

    /// <summary>A chunk's bytes for one flush; <see cref="Rented"/> is set when they were read from disk.</summary>
    private readonly record struct LoadedChunk(LoadOutcome Outcome, ReadOnlyMemory<byte> Data, byte[]? Rented)
    {
        public void Release(ByteBudget backlog)
        {
            if (Rented is not null)
            {
                ChunkBufferPool.Shared.Return(Rented);
                backlog.Release(Data.Length);
            }
        }
    }

    /// <summary>A chunk and how many retries it has had for this output.</summary>
    private readonly record struct QueuedChunk(BufferedChunk Chunk, int Retries);

    /// <summary>A retry waiting for its backoff timer; identity-keyed in the pending set.</summary>
    private sealed class ScheduledRetry(QueuedChunk item, OutputDispatcher owner)
    {
        public QueuedChunk Item { get; } = item;

        public BufferedChunk Chunk => Item.Chunk;

        public OutputDispatcher Owner { get; } = owner;

        /// <summary>Set just after arming; a timer that fires first simply is not disposed (one-shot).</summary>
        public ITimer? Timer { get; set; }
    }
}
