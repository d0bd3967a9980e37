using System.Buffers;
using System.Diagnostics.Metrics;
using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Buffers;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Engine.Routing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Engine;

/// <summary>
/// The aggregator's engine core: the <see cref="IChunkSink"/> inputs append to, and everything behind it —
/// filters, routing, the buffer (memory or segment files), and one <see cref="OutputDispatcher"/> per output.
/// <para>
/// Lifecycle: <see cref="StartAsync"/> starts the workers and, in the background, replays what is on disk
/// (pending chunk/output pairs are queued before any new data); <see cref="Ready"/> completes when replay is done
/// (for <c>/readyz</c>) and appends wait until then. <see cref="StopAsync"/> refuses new appends, lets outputs
/// drain for <c>Grace</c>, then cancels; undelivered filesystem chunks stay on disk for the next start.
/// </para>
/// </summary>
internal sealed class AggregatorEngine : IChunkSink, IHostedService, IAsyncDisposable
{
    private const int StateCreated = 0;
    private const int StateStarting = 1;
    private const int StateRunning = 2;
    private const int StateStopping = 3;
    private const int StateStopped = 4;

    private readonly BufferOptions _options;
    private readonly OutputDispatcher[] _outputs;
    private readonly RouteTable _routes;
    private readonly FilterChain _filters;
    private readonly ChunkStore? _store;
    private readonly ByteBudget _chunkBudget;

    /// <summary>Filesystem chunks up in memory, counted as Fluent Bit counts them (<c>storage.max_chunks_up</c>).</summary>
    private readonly ByteBudget _filesystemChunksUp;
    private readonly ByteBudget _backlogBudget;
    private readonly List<ByteBudget> _inputBudgets = [];
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly BufferMetrics _metrics;
    private readonly InputSink _defaultSink;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _replay = Task.CompletedTask;
    private int _state;
    private int _activeAppends;
    private long _nextMemoryChunkId;
    private int _disposed;

    public AggregatorEngine(
        BufferOptions options,
        IReadOnlyList<OutputRegistration> outputs,
        FilterChain? filters,
        ILoggerFactory loggerFactory,
        TimeProvider? time = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(outputs);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options;
        _time = time ?? TimeProvider.System;
        _logger = loggerFactory.CreateLogger("Gateway.Aggregator.Engine");
        _filters = filters ?? FilterChain.Empty;
        _chunkBudget = new ByteBudget("chunks", options.ChunkMemoryLimitBytes);
        _filesystemChunksUp = new ByteBudget("filesystem chunks up", options.MaxChunksUp);
        _backlogBudget = new ByteBudget("backlog", options.BacklogMemLimitBytes);
        _metrics = new BufferMetrics(() => MemoryBytes, () => DiskBytes, meterFactory);
        if (options.StoragePath is not null)
        {
            _store = new ChunkStore(options, _metrics, loggerFactory.CreateLogger("Gateway.Aggregator.Buffer"));
        }

        var rejected = options.EffectiveRejectedPath;
        var deadLetters = rejected is null ? null : new DeadLetterWriter(rejected, _time);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var keys = new HashSet<uint>();
        _outputs = new OutputDispatcher[outputs.Count];
        var matchers = new TagMatcher?[outputs.Count];
        for (var i = 0; i < outputs.Count; i++)
        {
            var registration = outputs[i];
            var name = registration.Output.Name;
            if (!names.Add(name) || !keys.Add(SegmentFormat.OutputKey(name)))
            {
                // The journal tells outputs apart by name; two alike would share progress and lose data.
                throw new ArgumentException($"two outputs are named '{name}'; give one an Alias");
            }

            if (registration.Matcher is null)
            {
                RoutingLog.OutputWithoutMatch(_logger, name);
            }

            matchers[i] = registration.Matcher;
            _outputs[i] = new OutputDispatcher(i, registration, _store, _backlogBudget, deadLetters, _time, _logger);
        }

        _routes = new RouteTable(matchers);
        _defaultSink = new InputSink(this, options.DefaultStorageType, null);
        RegisterOutputInstruments(_metrics.Meter);
    }

    /// <summary>Completes when startup replay is done and appends are accepted; faults if startup failed.</summary>
    public Task Ready => _ready.Task;

    /// <summary>For <c>/readyz</c>: replay is done and the engine is not shutting down.</summary>
    public bool IsReady => Volatile.Read(ref _state) == StateRunning;

    public BufferOptions Options => _options;

    public BufferMetrics Metrics => _metrics;

    public IReadOnlyList<OutputDispatcher> Outputs => _outputs;

    /// <summary>Chunk bytes currently held in memory (up chunks, chunks loaded back for flushing, memory inputs).</summary>
    public long MemoryBytes
    {
        get
        {
            var total = _chunkBudget.UsedBytes + _backlogBudget.UsedBytes;
            lock (_inputBudgets)
            {
                foreach (var b in _inputBudgets)
                {
                    total += b.UsedBytes;
                }
            }

            return total;
        }
    }

    /// <summary>The most chunk bytes ever held in memory at once by the engine-wide budgets.</summary>
    public long PeakChunkMemoryBytes => _chunkBudget.PeakBytes;

    /// <summary>The most filesystem chunks ever up at once (bounded by <c>storage.max_chunks_up</c>).</summary>
    public long PeakFilesystemChunksUp => _filesystemChunksUp.PeakBytes;

    public long PeakBacklogMemoryBytes => _backlogBudget.PeakBytes;

    public long DiskBytes => _store?.DiskBytes ?? 0;

    /// <summary>The per-input memory budgets (<c>Mem_Buf_Limit</c>), for metrics and tests.</summary>
    internal IReadOnlyList<ByteBudget> InputBudgets
    {
        get
        {
            lock (_inputBudgets)
            {
                return [.. _inputBudgets];
            }
        }
    }

    internal ChunkStore? Store => _store;

    /// <summary>
    /// Builds the engine from a whole config: <c>[SERVICE]</c> buffer settings, every <c>[OUTPUT]</c> through
    /// <paramref name="outputFactory"/> (with its Match/Match_Regex, Retry_Limit, Workers; with one input and
    /// one output, a missing Match means everything, as in Fluent Bit) and every
    /// <c>[FILTER]</c> through <paramref name="filterFactory"/> (a null result skips that filter). Bad values
    /// throw <see cref="ConfigException"/> naming file:line. The engine owns and disposes the outputs.
    /// </summary>
    public static AggregatorEngine FromConfig(
        ConfigDocument config,
        Func<ConfigSection, IOutput> outputFactory,
        ILoggerFactory loggerFactory,
        Func<ConfigSection, IFilter?>? filterFactory = null,
        TimeProvider? time = null,
        IMeterFactory? meterFactory = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(outputFactory);
        ConfigSection? service = null;
        foreach (var s in config.OfKind(SectionKind.Service))
        {
            service = s;
        }

        var options = BufferOptions.FromService(service);
        var outputSections = config.OfKind(SectionKind.Output).ToList();
        var inputCount = config.OfKind(SectionKind.Input).Count();

        // flb_router_io_set: with exactly one input and one output, an output without Match gets everything.
        var matchAllWhenUnset = inputCount == 1 && outputSections.Count == 1;
        var outputs = new List<OutputRegistration>();
        foreach (var section in outputSections)
        {
            outputs.Add(OutputRegistration.FromSection(section, outputFactory(section), options, matchAllWhenUnset));
        }

        var filters = new List<(TagMatcher?, IFilter)>();
        if (filterFactory is not null)
        {
            foreach (var section in config.OfKind(SectionKind.Filter))
            {
                if (filterFactory(section) is { } filter)
                {
                    filters.Add((TagMatcher.FromSection(section), filter));
                }
            }
        }

        var logger = loggerFactory.CreateLogger("Gateway.Aggregator.Routing");
        return new AggregatorEngine(options, outputs, new FilterChain(filters, logger), loggerFactory, time, meterFactory);
    }

    /// <summary>
    /// The sink for one <c>[INPUT]</c>, honouring its <c>storage.type</c> and (memory storage) its
    /// <c>Mem_Buf_Limit</c>. The engine itself is the sink for inputs with default settings.
    /// </summary>
    public IChunkSink CreateInputSink(ConfigSection input) => CreateInputSink(InputStorageOptions.FromInput(input, _options), input.PluginName ?? input.Header);

    public IChunkSink CreateInputSink(InputStorageOptions storage, string name)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ByteBudget? budget = null;
        if (storage.StorageType == StorageType.Memory && storage.MemBufLimitBytes is { } limit)
        {
            budget = new ByteBudget($"input {name}", limit);
            lock (_inputBudgets)
            {
                _inputBudgets.Add(budget);
            }
        }

        return new InputSink(this, storage.StorageType, budget);
    }

    public ValueTask AppendAsync(EventChunk chunk, CancellationToken cancellationToken) =>
        _defaultSink.AppendAsync(chunk, cancellationToken);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, StateStarting, StateCreated) != StateCreated)
        {
            throw new InvalidOperationException("the engine was already started");
        }

        foreach (var output in _outputs)
        {
            output.Start();
        }

        EngineLog.Started(_logger, _outputs.Length, _filters.Count, _store?.Directory ?? "memory");
        _replay = Task.Run(Replay, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var previous = Interlocked.Exchange(ref _state, StateStopping);
        if (previous is StateStopping or StateStopped)
        {
            Volatile.Write(ref _state, previous);
            return;
        }

        _ready.TrySetException(new InvalidOperationException("the engine is shutting down"));
        _ = _ready.Task.Exception; // observed: readiness waiters get the error, nobody else must
        EngineLog.Stopping(_logger, _options.Grace);
        var graceOver = Task.Delay(_options.Grace, _time, cancellationToken);
        await _replay.ConfigureAwait(false);

        // Appends already past the state check finish storing and queueing before the queues close.
        while (Volatile.Read(ref _activeAppends) > 0 && !graceOver.IsCompleted)
        {
            await Task.Delay(5, CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var output in _outputs)
        {
            output.CompleteAdding();
        }

        var drained = Task.WhenAll(Array.ConvertAll(_outputs, o => o.Completion));
        await Task.WhenAny(drained, graceOver).ConfigureAwait(false);
        if (!drained.IsCompleted)
        {
            foreach (var output in _outputs)
            {
                output.Abort();
            }

            // Outputs are asked to honour cancellation; one that does not cannot hold shutdown forever.
            await Task.WhenAny(drained, Task.Delay(TimeSpan.FromSeconds(5), CancellationToken.None)).ConfigureAwait(false);
        }

        CountLeftovers();
        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }

        Volatile.Write(ref _state, StateStopped);
        EngineLog.Stopped(_logger);
    }

    public async ValueTask DisposeAsync()
    {
        // The host registers the engine as a singleton and as the hosted service's factory result, so the
        // container disposes this one instance twice; outputs and filters must see one dispose.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (Volatile.Read(ref _state) is StateStarting or StateRunning)
        {
            await StopAsync(CancellationToken.None).ConfigureAwait(false);
        }

        foreach (var output in _outputs)
        {
            await output.Output.DisposeAsync().ConfigureAwait(false);
        }

        await _filters.DisposeFiltersAsync().ConfigureAwait(false);
        _metrics.Dispose();
    }

    /// <summary>
    /// Test hook for crash tests: stops workers and drops every file handle without finishing anything, as a
    /// killed process would. The on-disk state is exactly what a crash at this instant leaves.
    /// </summary>
    internal async Task SimulateCrashAsync()
    {
        Volatile.Write(ref _state, StateStopped);
        foreach (var output in _outputs)
        {
            output.Abort();
        }

        await Task.WhenAny(Task.WhenAll(Array.ConvertAll(_outputs, o => o.Completion)), Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        if (_store is not null)
        {
            await _store.DisposeAsync().ConfigureAwait(false);
        }

        _metrics.Dispose();
    }

    private void Replay()
    {
        try
        {
            var replayed = 0;
            if (_store is not null)
            {
                var segments = _store.Open();
                var pendingPairs = 0;
                var chunkCount = 0;
                foreach (var segment in segments)
                {
                    foreach (var chunk in segment.Chunks)
                    {
                        chunkCount++;
                        var routes = _routes.Resolve(chunk.Tag);
                        var pending = 0;
                        foreach (var index in routes)
                        {
                            if (!segment.Done.Contains((chunk.Id, _outputs[index].JournalKey)))
                            {
                                pending++;
                            }
                        }

                        if (pending == 0)
                        {
                            segment.Segment.ChunkFinished();
                            continue;
                        }

                        chunk.SetPendingOutputs(pending);
                        foreach (var index in routes)
                        {
                            if (!segment.Done.Contains((chunk.Id, _outputs[index].JournalKey)))
                            {
                                _outputs[index].Enqueue(chunk);
                            }
                        }

                        pendingPairs += pending;
                        replayed++;
                        _metrics.Replayed();
                    }

                    segment.Segment.Seal();
                }

                BufferLog.ReplayScanned(_logger, chunkCount, segments.Count, pendingPairs);
            }

            if (Interlocked.CompareExchange(ref _state, StateRunning, StateStarting) == StateStarting)
            {
                _ready.TrySetResult();
                EngineLog.ReplayDone(_logger, replayed);
            }
        }
        catch (Exception ex)
        {
            EngineLog.ReplayFailed(_logger, ex);
            _ready.TrySetException(ex);
        }
    }

    private async ValueTask AppendCoreAsync(EventChunk chunk, InputSink sink, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (Volatile.Read(ref _state) != StateRunning)
        {
            if (Volatile.Read(ref _state) >= StateStopping)
            {
                throw new InvalidOperationException("the engine is shutting down; the chunk was not stored");
            }

            await _ready.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        Interlocked.Increment(ref _activeAppends);
        try
        {
            if (Volatile.Read(ref _state) != StateRunning)
            {
                throw new InvalidOperationException("the engine is shutting down; the chunk was not stored");
            }

            var filtered = _filters.Apply(chunk, out var owner);
            try
            {
                if (filtered.EventCount == 0 && filtered.ByteLength == 0)
                {
                    return;
                }

                var routes = _routes.Resolve(filtered.Tag);
                if (routes.Length == 0)
                {
                    _metrics.Unrouted(filtered.EventCount);
                    EngineLog.Unrouted(_logger, filtered.Tag, filtered.EventCount);
                    return;
                }

                var buffered = new BufferedChunk(0, filtered.Tag, filtered.NodeName, filtered.EventCount, filtered.ByteLength);
                buffered.SetPendingOutputs(routes.Length);
                if (sink.StorageType == StorageType.Filesystem && _store is not null)
                {
                    // Keep it in memory while fewer than storage.max_chunks_up filesystem chunks are up (Fluent
                    // Bit counts chunks) and the byte budget allows; otherwise it is only on disk ("down") and the
                    // append does not wait: the disk is the buffer. Our chunks are one forward message each, often
                    // far below Fluent Bit's 2 MB, so the count bounds memory more tightly than the bytes.
                    if (_filesystemChunksUp.TryReserve(1))
                    {
                        if (_chunkBudget.TryReserve(filtered.ByteLength))
                        {
                            buffered.Adopt(TakeBytes(filtered, ref owner), _chunkBudget, _filesystemChunksUp);
                        }
                        else
                        {
                            _filesystemChunksUp.Release(1);
                        }
                    }

                    try
                    {
                        var payload = buffered.IsUp ? buffered.Data : filtered.Events;
                        if (await _store.WriteAsync(buffered, payload, cancellationToken).ConfigureAwait(false))
                        {
                            _metrics.BackpressureWaited();
                        }
                    }
                    catch
                    {
                        buffered.ReleaseData();
                        throw;
                    }
                }
                else
                {
                    var budget = sink.Budget ?? _chunkBudget;
                    if (!budget.TryReserve(filtered.ByteLength))
                    {
                        _metrics.BackpressureWaited();
                        await budget.ReserveAsync(filtered.ByteLength, cancellationToken).ConfigureAwait(false);
                    }

                    buffered.Adopt(TakeBytes(filtered, ref owner), budget);
                    buffered.Id = Interlocked.Increment(ref _nextMemoryChunkId);
                }

                _metrics.Appended(filtered.EventCount, filtered.ByteLength);
                Dispatch(buffered, routes);
            }
            finally
            {
                owner?.Dispose();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _activeAppends);
        }
    }

    private void Dispatch(BufferedChunk chunk, int[] routes)
    {
        var refused = false;
        foreach (var index in routes)
        {
            refused |= !_outputs[index].Enqueue(chunk);
        }

        if (refused && chunk.Segment is null)
        {
            // Only possible when shutdown raced this append past its grace; a memory chunk would be lost, so
            // the sender must not get an acknowledgement.
            throw new InvalidOperationException("the engine is shutting down; the chunk was not delivered");
        }
    }

    /// <summary>The chunk's bytes as a pooled array the buffer owns: the filter's output as-is, else a copy.</summary>
    private static byte[] TakeBytes(EventChunk chunk, ref PooledBufferWriter? owner)
    {
        if (owner is not null)
        {
            var array = owner.Detach();
            owner.Dispose();
            owner = null;
            return array;
        }

        var copy = ChunkBufferPool.Shared.Rent(Math.Max(chunk.ByteLength, 1));
        chunk.Events.Span.CopyTo(copy);
        return copy;
    }

    private void CountLeftovers()
    {
        var onDisk = 0;
        var lost = 0;
        long lostRecords = 0;
        foreach (var output in _outputs)
        {
            foreach (var chunk in output.DrainLeftovers())
            {
                if (chunk.Segment is not null)
                {
                    onDisk++;
                }
                else
                {
                    lost++;
                    lostRecords += chunk.EventCount;
                    chunk.ReleaseData();
                }
            }
        }

        if (onDisk > 0 || lost > 0)
        {
            EngineLog.GraceExpired(_logger, onDisk, lost, lostRecords);
        }
    }

    private void RegisterOutputInstruments(Meter meter)
    {
        Measurement<long>[] Each(Func<OutputDispatcher, long> value)
        {
            var measurements = new Measurement<long>[_outputs.Length];
            for (var i = 0; i < _outputs.Length; i++)
            {
                measurements[i] = new Measurement<long>(value(_outputs[i]), new KeyValuePair<string, object?>("output", _outputs[i].Name));
            }

            return measurements;
        }

        meter.CreateObservableCounter("gateway.output.chunks_queued", () => Each(o => o.Queued), "{chunk}", "Chunks queued for the output");
        meter.CreateObservableGauge("gateway.output.queue_depth", () => Each(o => o.QueueDepth), "{chunk}", "Chunks waiting for an output worker");
        meter.CreateObservableCounter("gateway.output.chunks_flushed", () => Each(o => o.FlushedChunks), "{chunk}", "Chunks the output accepted (Ok)");
        meter.CreateObservableCounter("gateway.output.records_flushed", () => Each(o => o.FlushedRecords), "{record}", "Records the output accepted (Ok)");
        meter.CreateObservableCounter("gateway.output.retries_scheduled", () => Each(o => o.Retries), "{retry}", "Retries the engine scheduled after a Retry answer (an exhausted one is dead-lettered instead)");
        meter.CreateObservableCounter("gateway.output.dead_lettered", () => Each(o => o.DeadLetteredRecords), "{record}", "Records the output rejected, kept as dead-letter files");
        meter.CreateObservableCounter("gateway.output.dropped", () => Each(o => o.DroppedRecords), "{record}", "Records the output rejected that could not be kept anywhere");
    }

    /// <summary>An input's view of the engine: its storage type and its own memory budget, if any.</summary>
    private sealed class InputSink(AggregatorEngine engine, StorageType storageType, ByteBudget? budget) : IChunkSink
    {
        public StorageType StorageType { get; } = storageType;

        public ByteBudget? Budget { get; } = budget;

        public ValueTask AppendAsync(EventChunk chunk, CancellationToken cancellationToken) =>
            engine.AppendCoreAsync(chunk, this, cancellationToken);
    }
}
