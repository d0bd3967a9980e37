using System.Buffers;
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
internal sealed class CloudWatchOutput : IOutput
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

        using (plan)
        {
            if (plan.Batches.Count == 0)
            {
                return FlushResult.Ok;
            }

            var delivered = _progress.Find(chunk) ?? [];
            var streamTasks = new List<Task<bool>>(plan.Streams.Count);
            var next = 0;
            while (next < plan.Batches.Count)
            {
                // Batches of one stream are consecutive: send them in order, streams side by side.
                var first = next;
                while (next < plan.Batches.Count && plan.Batches[next].Stream == plan.Batches[first].Stream)
                {
                    next++;
                }

                streamTasks.Add(SendStreamAsync(plan, first, next, delivered, cancellationToken));
            }

            bool[] results;
            try
            {
                results = await Task.WhenAll(streamTasks).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Cancelled (shutdown) or an unexpected failure: keep what went through so a retry does not resend it.
                lock (delivered)
                {
                    _progress.Remember(chunk, [.. delivered]);
                }

                if (ex is OperationCanceledException)
                {
                    throw;
                }

                CloudWatchLog.UnexpectedFailure(_logger, Name, chunk.Tag, ex);
                return _outputMetrics.Failed(FlushResult.Retry);
            }

            var complete = Array.TrueForAll(results, ok => ok);
            if (complete)
            {
                _progress.Forget(chunk);
                _outputMetrics.Delivered(plan.EventCount, plan.MessageBytes);
                return FlushResult.Ok;
            }

            lock (delivered)
            {
                _progress.Remember(chunk, [.. delivered]);
            }

            return _outputMetrics.Failed(FlushResult.Retry);
        }
    }

    /// <summary>Sends batches [first, end) of one stream in order; false when one must be retried later.</summary>
    private async Task<bool> SendStreamAsync(CloudWatchFlushPlan plan, int first, int end, HashSet<int> delivered, CancellationToken cancellationToken)
    {
        // Encoding the first batch is CPU work: yield so the caller starts every stream before any of it runs.
        await Task.Yield();
        var body = new PooledBufferWriter(64 * 1024);
        try
        {
            for (var b = first; b < end; b++)
            {
                lock (delivered)
                {
                    if (delivered.Contains(b))
                    {
                        continue;
                    }
                }

                body.Reset();
                var batch = plan.Batches[b];
                plan.EncodeBatch(batch, body);
                if (!await SendBatchAsync(plan.Streams[batch.Stream], body.WrittenMemory, batch.Count, cancellationToken).ConfigureAwait(false))
                {
                    return false;
                }

                lock (delivered)
                {
                    delivered.Add(b);
                }
            }

            return true;
        }
        finally
        {
            body.Dispose();
        }
    }

    /// <summary>One PutLogEvents with creation and retries; true when CloudWatch took it (or refused it for good, counted).</summary>
    private async Task<bool> SendBatchAsync(CloudWatchStreamTarget target, ReadOnlyMemory<byte> events, int count, CancellationToken cancellationToken)
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
            Metrics.Request(throttled);
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

    /// <summary>Routes, formats and batches the chunk's records. Allocates per flush, not per record.</summary>
    private CloudWatchFlushPlan Plan(EventChunk chunk)
    {
        var plan = new CloudWatchFlushPlan(chunk.EventCount, chunk.ByteLength);
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

            var start = plan.Messages.WrittenCount;
            if (!WriteMessage(view.Record.Span, plan.Messages, chunk.Tag, emfSource, view.Time.Seconds))
            {
                plan.Messages.Truncate(start);
                Metrics.Skipped();
                continue;
            }

            var length = plan.Messages.WrittenCount - start;
            if (length > _settings.MaxEventBytes)
            {
                var cut = Utf8Boundary(plan.Messages.WrittenSpan.Slice(start, length), _settings.MaxEventBytes);
                CloudWatchLog.EventTruncated(_logger, Name, length, cut);
                Metrics.Truncated();
                plan.Messages.Truncate(start + cut);
                length = cut;
            }

            var timestamp = (view.Time.Seconds * 1000L) + (view.Time.Nanoseconds / 1_000_000);
            plan.Add(new CloudWatchPlannedEvent(targetIndex, timestamp, start, length, sequence++));
        }

        plan.Cut();
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

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

}
