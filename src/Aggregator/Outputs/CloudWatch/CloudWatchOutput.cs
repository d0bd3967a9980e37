using System.Buffers;
using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Text;
using Gateway.Engine.Aws;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.RecordAccessor;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// <c>[OUTPUT] cloudwatch_logs</c> / <c>cloudwatch</c>: sends each chunk's records to CloudWatch Logs. Records
/// are routed to (group, stream) by templates, sorted by time per stream, cut into the largest requests the API
/// allows (≤ 10,000 events, ≤ 1,048,576 bytes counting 26 bytes per event, ≤ 24 h span), and the streams are sent
/// in parallel under an adaptive concurrency limit. <see cref="FlushAsync"/> returns Ok only when every record
/// is delivered or counted as rejected by CloudWatch; on Retry the batches that did go through are remembered
/// so the engine's retry does not send them again.
/// </summary>
internal sealed class CloudWatchOutput : IBatchingOutput
{
    private readonly CloudWatchOutputSettings _settings;
    private readonly ICloudWatchLogsClient _client;
    private readonly ILogger _logger;
    private readonly OutputMetrics _outputMetrics;
    private readonly FluentJsonFlags _jsonFlags;
    private readonly RecordAccessor? _logKey;
    private readonly CloudWatchEmfEncoder _emf;

    // The cloudwatch Go plugin marshals records with Go's JSON encoder (sorted keys); cloudwatch_logs keeps order.
    private readonly bool _goJson;
    private readonly CloudWatchRetryBackoff _backoff;
    private readonly AdaptiveSendGate _gate;
    private readonly CloudWatchChunkProgress _progress = new();
    private readonly ConcurrentDictionary<string, CloudWatchGroupState> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CloudWatchStreamTarget> _streams = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private int _activeSenders;
    private long _heldBytes;
    private TaskCompletionSource? _room;
    private readonly Lock _roomGate = new();

    // RelieveMemory's choice of the fullest streams (one call at a time).
    private readonly Lock _relieveGate = new();
    private readonly CloudWatchStreamTarget[] _fullest;

    /// <summary>
    /// The output's own pools. Formatted messages wait seconds for their request: held in 16 KiB pages (not
    /// chunk-sized arrays) they cost what they hold, and the pool keeps as many as the held-bytes cap lets be in
    /// use, so steady traffic allocates none. Requests are streamed from the pages: no request body is ever built.
    /// </summary>
    private readonly CloudWatchPagePool _pages;
    private readonly ArrayPool<CloudWatchQueuedEvent> _requests = ArrayPool<CloudWatchQueuedEvent>.Create(maxArrayLength: 16 * 1024, maxArraysPerBucket: 64);

    /// <summary>Messages are whole records as JSON with non-ASCII escaped (no <c>log_key</c>, escape_unicode on).</summary>
    private readonly bool _messagesAreAsciiJson;

    public CloudWatchOutput(string name, CloudWatchOutputSettings settings, ICloudWatchLogsClient client, OutputContext context, ILogger logger)
    {
        Name = name;
        _settings = settings;
        _client = client;
        _logger = logger;
        _outputMetrics = new OutputMetrics(name);
        Metrics = new CloudWatchMetrics(name);
        _jsonFlags = context.JsonFlags;
        _logKey = settings.LogKey is null ? null : RecordAccessor.Parse("$" + settings.LogKey);
        _goJson = settings.Plugin == "cloudwatch";
        _emf = new CloudWatchEmfEncoder(settings.MetricNamespace, CloudWatchEmfEncoder.ParseDimensions(settings.MetricDimensions), _jsonFlags);
        _backoff = new CloudWatchRetryBackoff(settings.AutoRetryRequests ? settings.MaxAttempts : 1, settings.BackoffBase, settings.BackoffCap, context.TimeProvider);
        _gate = new AdaptiveSendGate(settings.MaxConcurrentRequests);
        _time = context.TimeProvider;
        _fullest = new CloudWatchStreamTarget[Math.Max(1, settings.MaxConcurrentRequests)];
        _pages = new CloudWatchPagePool((int)Math.Min(int.MaxValue, (settings.MaxHeldBytes / CloudWatchPagePool.PageBytes) + 512));
        _messagesAreAsciiJson = _logKey is null && !_goJson && (_jsonFlags & FluentJsonFlags.RawUnicode) == 0;
    }

    public string Name { get; }

    internal CloudWatchMetrics Metrics { get; }

    internal CloudWatchOutputSettings Settings => _settings;

    internal AdaptiveSendGate Gate => _gate;

    /// <summary>
    /// Which metric input a chunk's records came from; Fluent Bit makes EMF documents of cpu and mem records only.
    /// Every chunk reaches the aggregator through forward or gateway_grpc, so none is (Fluent Bit does not convert
    /// forwarded records either); an in-process metric input would name itself here.
    /// </summary>
    internal Func<EventChunk, CloudWatchEmfSource> EmfSourceOf { get; set; } = static _ => CloudWatchEmfSource.None;

    /// <inheritdoc/>
    public int MaxChunksInFlight => _settings.MaxChunksInFlight;

    /// <summary>
    /// Routes and formats the chunk's records into the queues of their streams, then waits until every one of them
    /// went out in some request — together with records of other chunks, so a busy stream gets full requests.
    /// </summary>
    public async ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        Metrics.Received(chunk.EventCount);
        CloudWatchFlushPlan plan;
        try
        {
            plan = Plan(chunk);
        }
        catch (Exception ex) when (ex is EventFormatException or MsgpackFormatException or MessagePack.MessagePackSerializationException)
        {
            CloudWatchLog.MalformedChunk(_logger, Name, chunk.Tag, ex.Message);
            return _outputMetrics.Failed(FlushResult.Error);
        }

        var eventCount = plan.EventCount;
        var messageBytes = plan.MessageBytes;
        var storedBytes = plan.Messages.WrittenCount;
        if (eventCount == 0)
        {
            plan.Dispose();
            return FlushResult.Ok;
        }

        // Progress is keyed by the plan (the formatted records), not the chunk's bytes: the engine may reuse a disk
        // chunk's memory once this flush waits (IBatchingOutput), while the plan lives until this flush is done.
        var delivered = _progress.Find(chunk.Tag, plan);
        if (delivered is null || delivered.Length != eventCount)
        {
            delivered = new bool[eventCount];
        }

        var pending = new CloudWatchPendingChunk(plan, delivered, _time.GetTimestamp());
        var held = storedBytes + ((long)eventCount * CloudWatchOutputSettings.EventOverheadBytes);
        try
        {
            if (Interlocked.Add(ref _heldBytes, held) > _settings.MaxHeldBytes)
            {
                // Requests are not filling fast enough for the memory they hold (many quiet streams): send them now.
                Enqueue(pending);
                RelieveMemory();
            }
            else
            {
                Enqueue(pending);
            }

            FlushResult result;
            try
            {
                result = await pending.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Shutdown: records not yet in a request leave the queues; what went through is remembered for the retry.
                pending.Abandon();
                _progress.Remember(chunk.Tag, plan, delivered);
                throw;
            }
            finally
            {
                if (Interlocked.Add(ref _heldBytes, -held) <= _settings.MaxHeldBytes)
                {
                    SignalRoom();
                }
                else if (Volatile.Read(ref _room) is not null)
                {
                    // Still over the bound and the engine waits for room (so no new chunk will relieve it): start
                    // the next fullest streams rather than leave them to their flush interval.
                    RelieveMemory();
                }
            }

            if (result == FlushResult.Ok)
            {
                _progress.Forget(chunk.Tag, plan);
                _outputMetrics.Delivered(eventCount, messageBytes);
                return FlushResult.Ok;
            }

            _progress.Remember(chunk.Tag, plan, delivered);
            return _outputMetrics.Failed(FlushResult.Retry);
        }
        finally
        {
            pending.ReleasePlan();
        }
    }

    /// <inheritdoc/>
    public ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _heldBytes) <= _settings.MaxHeldBytes)
        {
            return ValueTask.CompletedTask;
        }

        Task room;
        lock (_roomGate)
        {
            _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            room = _room.Task;
        }

        RelieveMemory();

        // Checked again after publishing the waiter: a release in between would otherwise be missed.
        if (Volatile.Read(ref _heldBytes) <= _settings.MaxHeldBytes)
        {
            SignalRoom();
        }

        return new ValueTask(room.WaitAsync(cancellationToken));
    }

    private void SignalRoom()
    {
        TaskCompletionSource? room;
        lock (_roomGate)
        {
            room = _room;
            _room = null;
        }

        room?.TrySetResult();
    }

    /// <inheritdoc/>
    public void SendPending() => SendQueuesFrom(0);

    /// <summary>
    /// Over the held-bytes bound: start the fullest streams that are not sending yet, as many as requests can be
    /// in flight at once. Starting every stream over half a request (as this did) fixed all their requests at
    /// that size while only a few could be on the wire; the others, left to fill, go fuller when their turn comes.
    /// </summary>
    private void RelieveMemory()
    {
        lock (_relieveGate)
        {
            var picked = _fullest;
            var count = 0;
            foreach (var target in _streams.Values)
            {
                // Unlocked reads: a heuristic choice, re-checked under the queue's lock before starting.
                var queue = target.Queue;
                var bytes = queue.Bytes;
                if (bytes == 0 || queue.Sending || (count == picked.Length && bytes <= picked[count - 1].Queue.Bytes))
                {
                    continue;
                }

                // Insertion into the top list, fullest first.
                var at = Math.Min(count, picked.Length - 1);
                while (at > 0 && picked[at - 1].Queue.Bytes < bytes)
                {
                    picked[at] = picked[at - 1];
                    at--;
                }

                picked[at] = target;
                count = Math.Min(count + 1, picked.Length);
            }

            for (var i = 0; i < count; i++)
            {
                var target = picked[i];
                picked[i] = null!;
                var queue = target.Queue;
                lock (queue.Gate)
                {
                    if (queue.Count > 0)
                    {
                        queue.DueBefore = queue.NextArrival;
                        StartSenderLocked(target);
                    }
                }
            }
        }
    }

    /// <summary>Makes every queue holding at least <paramref name="minBytes"/> (and something) due now; returns how many.</summary>
    private int SendQueuesFrom(long minBytes)
    {
        var started = 0;
        foreach (var target in _streams.Values)
        {
            var queue = target.Queue;
            lock (queue.Gate)
            {
                if (queue.Count == 0 || queue.Bytes < minBytes)
                {
                    continue;
                }

                started++;
                queue.DueBefore = queue.NextArrival;
                StartSenderLocked(target);
            }
        }

        return started;
    }

    /// <summary>Puts the chunk's records (those not delivered by an earlier try) into their streams' queues.</summary>
    private void Enqueue(CloudWatchPendingChunk pending)
    {
        var plan = pending.Plan;
        var events = plan.Events;
        var delivered = pending.Delivered;
        var next = 0;
        while (next < events.Length)
        {
            // The plan is sorted by stream: each stream's records are one run, queued under one lock.
            var first = next;
            var targetIndex = events[first].Target;
            while (next < events.Length && events[next].Target == targetIndex)
            {
                next++;
            }

            var target = plan.Streams[targetIndex];
            var queue = target.Queue;
            lock (queue.Gate)
            {
                var wasEmpty = queue.Count == 0;
                var added = 0;
                for (var i = first; i < next; i++)
                {
                    if (!delivered[events[i].Sequence])
                    {
                        queue.Add(pending, events[i]);
                        added++;
                    }
                }

                if (added == 0)
                {
                    continue;
                }

                pending.Hold(added);
                if (_stopping.IsCancellationRequested)
                {
                    FailQueuedLocked(queue);
                }
                else if (queue.HasFullRequest)
                {
                    StartSenderLocked(target);
                }
                else if (wasEmpty && !queue.Sending)
                {
                    ArmTimerLocked(target, _settings.FlushInterval);
                }
            }
        }

        // Every record is queued: release the enqueuer's hold (completes at once when nothing was left to send).
        pending.Settle(1, sent: true);
    }

    private void StartSenderLocked(CloudWatchStreamTarget target)
    {
        if (target.Queue.Sending)
        {
            return;
        }

        target.Queue.Sending = true;
        Interlocked.Increment(ref _activeSenders);
        _ = Task.Run(() => SendQueueAsync(target));
    }

    private void ArmTimerLocked(CloudWatchStreamTarget target, TimeSpan due)
    {
        var queue = target.Queue;
        if (due < TimeSpan.Zero)
        {
            due = TimeSpan.Zero;
        }

        if (queue.Timer is null)
        {
            queue.Timer = _time.CreateTimer(static state => ((StreamTimer)state!).Fire(), new StreamTimer(this, target), due, Timeout.InfiniteTimeSpan);
        }
        else
        {
            queue.Timer.Change(due, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>A stream's timer: its oldest record has waited the flush interval, send even a partial request.</summary>
    private void FlushIntervalOver(CloudWatchStreamTarget target)
    {
        var queue = target.Queue;
        lock (queue.Gate)
        {
            if (queue.Count == 0)
            {
                return;
            }

            // At least the record the timer was armed for is due (timers may fire a tick early).
            queue.DueBefore = Math.Max(queue.DueBefore, queue.Oldest.Arrival + 1);
            StartSenderLocked(target);
        }
    }

    /// <summary>Whether the front of the queue should go now: a full request, or its oldest record is due.</summary>
    private bool RequestDueLocked(CloudWatchStreamQueue queue)
    {
        if (queue.HasFullRequest || _stopping.IsCancellationRequested)
        {
            return true;
        }

        var oldest = queue.Oldest;
        return oldest.Arrival < queue.DueBefore || _time.GetElapsedTime(oldest.Chunk.QueuedAt) >= _settings.FlushInterval;
    }

    /// <summary>
    /// The one sender of a stream: sends requests from the queue's front while they are due, then re-arms the
    /// timer for what is left. A failed request fails the rest of the queue too, so the engine's retries of
    /// those chunks send the stream's records in their order rather than around a gap.
    /// </summary>
    private async Task SendQueueAsync(CloudWatchStreamTarget target)
    {
        var queue = target.Queue;
        var body = new CloudWatchLogEventsStream();
        try
        {
            // Encoding is CPU work: let the caller (a flush or a timer) go on first.
            await Task.Yield();
            while (true)
            {
                CloudWatchQueuedEvent[] request;
                int count;
                lock (queue.Gate)
                {
                    if (queue.Count == 0 || !RequestDueLocked(queue))
                    {
                        queue.Sending = false;
                        if (queue.Count > 0)
                        {
                            ArmTimerLocked(target, _settings.FlushInterval - _time.GetElapsedTime(queue.Oldest.Chunk.QueuedAt));
                        }

                        return;
                    }

                    // Sized to what the queue holds (a full request's array is ~400 KB, most requests are far smaller).
                    request = _requests.Rent(Math.Min(queue.Count, CloudWatchOutputSettings.MaxBatchEvents));
                    count = queue.TakeRequest(request);
                }

                try
                {
                    count = DropAbandoned(request, count);
                    if (count == 0)
                    {
                        continue;
                    }

                    bool sent;
                    try
                    {
                        body.Reset(request, count);
                        sent = await SendBatchAsync(target, body, count, _stopping.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
                    {
                        sent = false;
                    }
                    catch (Exception ex)
                    {
                        CloudWatchLog.RequestFailed(_logger, Name, target.ToString(), ex);
                        sent = false;
                    }
                    finally
                    {
                        body.Clear();
                    }

                    Settle(request.AsSpan(0, count), sent);
                    if (!sent)
                    {
                        CloudWatchQueuedEvent[] rest;
                        lock (queue.Gate)
                        {
                            rest = queue.TakeAll();
                        }

                        Settle(rest, sent: false);
                    }
                }
                finally
                {
                    Array.Clear(request, 0, count);
                    _requests.Return(request);
                }
            }
        }
        finally
        {
            Interlocked.Decrement(ref _activeSenders);
        }
    }

    private void FailQueuedLocked(CloudWatchStreamQueue queue) => Settle(queue.TakeAll(), sent: false);

    /// <summary>Settles records of abandoned chunks as not sent and compacts the rest; returns how many remain.</summary>
    private static int DropAbandoned(CloudWatchQueuedEvent[] request, int count)
    {
        var kept = 0;
        for (var i = 0; i < count; i++)
        {
            var e = request[i];
            if (e.Chunk.Abandoned)
            {
                e.Chunk.Settle(1, sent: false);
            }
            else
            {
                request[kept++] = e;
            }
        }

        Array.Clear(request, kept, count - kept);
        return kept;
    }

    /// <summary>Marks the records delivered (when sent) and settles them with their chunks, one call per run of a chunk.</summary>
    private static void Settle(ReadOnlySpan<CloudWatchQueuedEvent> events, bool sent)
    {
        var i = 0;
        while (i < events.Length)
        {
            var chunk = events[i].Chunk;
            var run = 0;
            while (i < events.Length && ReferenceEquals(events[i].Chunk, chunk))
            {
                if (sent)
                {
                    chunk.Delivered[events[i].Sequence] = true;
                }

                run++;
                i++;
            }

            chunk.Settle(run, sent);
        }
    }

    /// <summary>One PutLogEvents with creation and retries; true when CloudWatch took it (or refused it for good, counted).</summary>
    private async Task<bool> SendBatchAsync(CloudWatchStreamTarget target, CloudWatchLogEventsStream events, int count, CancellationToken cancellationToken)
    {
        var attempt = 0;
        var recreations = 0;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!target.Ready)
            {
                var ensured = await EnsureStreamAsync(target, cancellationToken).ConfigureAwait(false);
                if (ensured is { } failure)
                {
                    if (failure.Kind == AwsErrorKind.Transient && await BackOffAsync(++attempt, "CreateLogStream", target, failure, cancellationToken).ConfigureAwait(false))
                    {
                        continue;
                    }

                    return false;
                }
            }

            await _gate.EnterAsync(cancellationToken).ConfigureAwait(false);
            PutLogEventsResult result;
            var throttled = false;
            try
            {
                result = await _client.PutLogEventsAsync(target.Group.Name, target.Stream, events, cancellationToken).ConfigureAwait(false);
                throttled = result.Response.Kind == AwsErrorKind.Transient;
            }
            finally
            {
                // A throttle (or 5xx) lowers the concurrency for every stream; successes raise it back slowly.
                _gate.Exit(throttled);
            }

            var response = result.Response;
            Metrics.PutRequest(throttled);
            if (response.IsSuccess)
            {
                var rejected = result.Rejected.RejectedCount(count);
                if (rejected > 0)
                {
                    Metrics.Rejected(rejected);
                    CloudWatchLog.EventsRejected(_logger, Name, rejected, count, target.Group.Name, target.Stream, result.Rejected.ToString());
                }

                Metrics.Sent(count - rejected);
                return true;
            }

            switch (response.Kind)
            {
                case AwsErrorKind.Transient:
                    if (await BackOffAsync(++attempt, "PutLogEvents", target, response, cancellationToken).ConfigureAwait(false))
                    {
                        continue;
                    }

                    return false;
                case AwsErrorKind.NotFound:
                    // The stream (or group) went away under us: forget what we knew and create it again.
                    target.Ready = false;
                    if (response.ErrorMessage?.Contains("log group", StringComparison.OrdinalIgnoreCase) == true)
                    {
                        target.Group.Ready = false;
                    }

                    CloudWatchLog.StreamRecreating(_logger, Name, target.Group.Name, target.Stream);
                    if (++recreations <= 3)
                    {
                        continue;
                    }

                    return false;
                case AwsErrorKind.Auth:
                    CloudWatchLog.AuthFailure(_logger, Name, "PutLogEvents", target.Group.Name, response.ToString());
                    return false;
                default:
                    if (response.ErrorType == "DataAlreadyAcceptedException")
                    {
                        // An earlier try of this very batch got through; the sequence-token era's way of saying so.
                        Metrics.Sent(count);
                        return true;
                    }

                    if (response.ErrorType == "InvalidSequenceTokenException" && ++attempt < 3)
                    {
                        continue; // tokens are ignored by CloudWatch now; a plain resend is what the SDKs do
                    }

                    // InvalidParameterException and the like: resending the same bytes cannot succeed.
                    Metrics.Rejected(count);
                    CloudWatchLog.BatchRefused(_logger, Name, count, target.Group.Name, target.Stream, response.ToString());
                    return true;
            }
        }
    }

    private async Task<bool> BackOffAsync(int attempt, string operation, CloudWatchStreamTarget target, AwsJsonResponse failure, CancellationToken cancellationToken)
    {
        if (!_backoff.CanRetry(attempt))
        {
            CloudWatchLog.GivingUp(_logger, Name, operation, target.Group.Name, target.Stream, failure.ToString());
            return false;
        }

        CloudWatchLog.TransientFailure(_logger, Name, operation, target.Group.Name, target.Stream, failure.ToString(), attempt, _backoff.MaxAttempts - 1);
        await _backoff.WaitAsync(attempt, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Creates the group (when allowed) and the stream; null when the stream exists, else the failing answer.</summary>
    private async Task<AwsJsonResponse?> EnsureStreamAsync(CloudWatchStreamTarget target, CancellationToken cancellationToken)
    {
        var group = target.Group;
        if (!group.Ready && _settings.AutoCreateGroup)
        {
            var created = await _client.CreateLogGroupAsync(group.Name, _settings.LogGroupClass, cancellationToken).ConfigureAwait(false);
            Metrics.Request(created.Kind == AwsErrorKind.Transient);
            if (created.IsSuccess)
            {
                CloudWatchLog.GroupCreated(_logger, Name, group.Name);
                if (_settings.RetentionDays is { } days)
                {
                    var retention = await _client.PutRetentionPolicyAsync(group.Name, days, cancellationToken).ConfigureAwait(false);
                    Metrics.Request(retention.Kind == AwsErrorKind.Transient);
                    if (!retention.IsSuccess)
                    {
                        CloudWatchLog.RetentionFailed(_logger, Name, group.Name, days, retention.Response.ToString());
                    }
                }
            }
            else if (created.Kind != AwsErrorKind.AlreadyExists)
            {
                if (created.Kind == AwsErrorKind.Auth)
                {
                    CloudWatchLog.AuthFailure(_logger, Name, "CreateLogGroup", group.Name, created.Response.ToString());
                }

                return created.Response;
            }

            group.Ready = true;
        }

        var stream = await _client.CreateLogStreamAsync(group.Name, target.Stream, cancellationToken).ConfigureAwait(false);
        Metrics.Request(stream.Kind == AwsErrorKind.Transient);
        if (stream.IsSuccess || stream.Kind == AwsErrorKind.AlreadyExists)
        {
            if (stream.IsSuccess)
            {
                CloudWatchLog.StreamCreated(_logger, Name, group.Name, target.Stream);
            }

            target.Ready = true;
            return null;
        }

        if (stream.Kind == AwsErrorKind.NotFound)
        {
            group.Ready = false;
            if (!_settings.AutoCreateGroup)
            {
                CloudWatchLog.GroupMissing(_logger, Name, group.Name);
            }
            else
            {
                // The group vanished after we created it: the transient path retries and recreates it.
                return new AwsJsonResponse(stream.Response.StatusCode, stream.Response.Body, stream.ErrorType, stream.Response.ErrorMessage, AwsErrorKind.Transient);
            }
        }
        else if (stream.Kind == AwsErrorKind.Auth)
        {
            CloudWatchLog.AuthFailure(_logger, Name, "CreateLogStream", group.Name, stream.Response.ToString());
        }

        return stream.Response;
    }

    /// <summary>
    /// Routes, formats and batches the chunk's records. Each message is formatted into a small scratch buffer
    /// (cut to the per-event maximum there, where its size is CloudWatch's), then stored escaped in the plan's
    /// pages, ready to be streamed into requests. Allocates per flush, not per record.
    /// </summary>
    private CloudWatchFlushPlan Plan(EventChunk chunk)
    {
        var plan = new CloudWatchFlushPlan(chunk.EventCount, _pages);
        var message = new CloudWatchMessageBuffer(4096, ArrayPool<byte>.Shared);
        var escaper = _messagesAreAsciiJson ? null : new CloudWatchPagesWriter(plan.Messages);
        try
        {
            var nodeName = string.IsNullOrEmpty(chunk.NodeName) ? null : chunk.NodeName;
            var perRecord = _settings.Group.DependsOnRecord || _settings.Stream.DependsOnRecord;
            var names = new ArrayBufferWriter<byte>(256);
            var scratch = new ArrayBufferWriter<byte>(128);
            var chunkTarget = -1;
            var reader = new EventReader(chunk.Events);
            var sequence = 0;
            var emfSource = _logKey is null ? EmfSourceOf(chunk) : CloudWatchEmfSource.None;
            while (reader.TryRead(out var view))
            {
                int targetIndex;
                if (!perRecord && chunkTarget >= 0)
                {
                    targetIndex = chunkTarget;
                }
                else
                {
                    targetIndex = plan.TargetIndex(Resolve(chunk.Tag, nodeName, view.Record.Span, names, scratch));
                    chunkTarget = targetIndex;
                }

                message.Truncate(0);
                if (!WriteMessage(view.Record.Span, message, chunk.Tag, emfSource, view.Time.Seconds))
                {
                    Metrics.Skipped();
                    continue;
                }

                var length = message.WrittenCount;
                if (length > _settings.MaxEventBytes)
                {
                    var cut = Utf8Boundary(message.WrittenSpan, _settings.MaxEventBytes);
                    CloudWatchLog.EventTruncated(_logger, Name, length, cut);
                    Metrics.Truncated();
                    length = cut;
                }

                var text = message.WrittenSpan[..length];
                var offset = plan.Messages.WrittenCount;
                if (escaper is null)
                {
                    plan.Messages.WriteEscapedAsciiJson(text);
                }
                else
                {
                    FluentJson.WriteEscaped(text, escaper, FluentJsonFlags.RawUnicode);
                }

                var timestamp = (view.Time.Seconds * 1000L) + (view.Time.Nanoseconds / 1_000_000);
                plan.Add(new CloudWatchPlannedEvent(targetIndex, timestamp, offset, plan.Messages.WrittenCount - offset, length, sequence++));
            }
        }
        catch
        {
            plan.Dispose();
            throw;
        }
        finally
        {
            message.Dispose();
        }

        plan.Sort();
        return plan;
    }

    /// <summary>
    /// The record's message: the <c>log_key</c> value (strings unquoted), a metric input's record as an EMF
    /// document, or the whole record as JSON.
    /// </summary>
    private bool WriteMessage(ReadOnlySpan<byte> record, CloudWatchMessageBuffer output, string tag, CloudWatchEmfSource emfSource, long seconds)
    {
        var start = output.WrittenCount;
        if (emfSource != CloudWatchEmfSource.None)
        {
            _emf.Write(record, seconds, emfSource, output, _jsonFlags);
        }
        else if (_logKey is null)
        {
            if (!WriteJson(record, output))
            {
                CloudWatchLog.NotGoJson(_logger, Name, tag);
                return false;
            }
        }
        else
        {
            if (!_logKey.TryGetValue(record, out var value))
            {
                CloudWatchLog.LogKeyMissing(_logger, Name, tag, _settings.LogKey!);
                return false;
            }

            if (value.IsString)
            {
                output.Write(value.Payload(record));
            }
            else if (!WriteJson(value.Encoded(record), output))
            {
                CloudWatchLog.NotGoJson(_logger, Name, tag);
                return false;
            }
        }

        if (output.WrittenCount == start)
        {
            // CloudWatch refuses empty messages (minimum length 1).
            CloudWatchLog.LogKeyMissing(_logger, Name, tag, _settings.LogKey ?? "(record)");
            return false;
        }

        return true;
    }

    /// <summary>A value as the plugin's JSON encoder writes it; false when the Go encoder cannot (NaN, ±Inf: Go drops the record).</summary>
    private bool WriteJson(ReadOnlySpan<byte> value, CloudWatchMessageBuffer output)
    {
        if (_goJson)
        {
            return CloudWatchGoJson.WriteValue(value, output);
        }

        FluentJson.WriteValue(value, output, _jsonFlags);
        return true;
    }

    private CloudWatchStreamTarget Resolve(string tag, string? nodeName, ReadOnlySpan<byte> record, ArrayBufferWriter<byte> names, ArrayBufferWriter<byte> scratch)
    {
        names.ResetWrittenCount();
        if (!_settings.Group.TryRender(tag, nodeName, record, names, scratch))
        {
            names.ResetWrittenCount();
            _settings.GroupFallback.TryRender(tag, nodeName, record, names, scratch);
            Fallback("log group", _settings.Group, tag, names.WrittenSpan);
        }

        var groupLength = names.WrittenCount;
        names.Write("\n"u8);
        if (!_settings.Stream.TryRender(tag, nodeName, record, names, scratch))
        {
            var streamStart = groupLength + 1;
            var rendered = names.WrittenSpan[..streamStart].ToArray();
            names.ResetWrittenCount();
            names.Write(rendered);
            _settings.StreamFallback.TryRender(tag, nodeName, record, names, scratch);
            Fallback("log stream", _settings.Stream, tag, names.WrittenSpan[streamStart..]);
        }

        // Look the pair up by its bytes decoded on the stack: no string is made for a destination seen before.
        var bytes = names.WrittenSpan;
        var charCount = Encoding.UTF8.GetCharCount(bytes);
        char[]? rented = null;
        var chars = charCount <= 512 ? stackalloc char[charCount] : (rented = ArrayPool<char>.Shared.Rent(charCount)).AsSpan(0, charCount);
        try
        {
            Encoding.UTF8.GetChars(bytes, chars);
            var lookup = _streams.GetAlternateLookup<ReadOnlySpan<char>>();
            if (lookup.TryGetValue(chars, out var known))
            {
                return known;
            }

            var key = new string(chars);
            var newline = key.IndexOf('\n', StringComparison.Ordinal);
            var groupName = key[..newline];
            var group = _groups.GetOrAdd(groupName, static n => new CloudWatchGroupState(n));
            return _streams.GetOrAdd(key, _ => new CloudWatchStreamTarget(group, key[(newline + 1)..]));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    private void Fallback(string what, CloudWatchNameTemplate template, string tag, ReadOnlySpan<byte> fallback)
    {
        Metrics.NameFallback();
        if (_logger.IsEnabled(LogLevel.Warning) && Metrics.NameFallbackCount % 1000 == 1)
        {
            CloudWatchLog.TemplateFallback(_logger, Name, what, template.Pattern, tag, Encoding.UTF8.GetString(fallback));
        }
    }

    /// <summary>The longest prefix of at most <paramref name="max"/> bytes that does not split a UTF-8 character.</summary>
    internal static int Utf8Boundary(ReadOnlySpan<byte> text, int max)
    {
        if (text.Length <= max)
        {
            return text.Length;
        }

        var cut = max;
        while (cut > 0 && (text[cut] & 0xC0) == 0x80)
        {
            cut--;
        }

        return cut;
    }

    /// <summary>Stops sending: queued records go back to their flushes as not sent (Retry), then the client closes.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        foreach (var target in _streams.Values)
        {
            var queue = target.Queue;
            lock (queue.Gate)
            {
                queue.Timer?.Dispose();
                FailQueuedLocked(queue);
            }
        }

        // Senders see the cancellation at their next request; bounded, as a stuck socket must not hold shutdown.
        for (var waited = 0; Volatile.Read(ref _activeSenders) > 0 && waited < 500; waited++)
        {
            await Task.Delay(10).ConfigureAwait(false);
        }

        _client.Dispose();
    }

    /// <summary>What a stream's flush-interval timer calls back (one per stream, made once).</summary>
    private sealed record StreamTimer(CloudWatchOutput Output, CloudWatchStreamTarget Target)
    {
        public void Fire() => Output.FlushIntervalOver(Target);
    }
}
