using System.Buffers;
using System.Text;
using Gateway.Aggregator.Outputs.CloudWatch;
using Gateway.Engine.Aws;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.RecordAccessor;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs.Kinesis;

/// <summary>
/// <c>[OUTPUT] kinesis_firehose</c> / <c>firehose</c> (PutRecordBatch) and <c>kinesis_streams</c> / <c>kinesis</c>
/// (PutRecords): each chunk becomes newline-terminated JSON records (see <see cref="KinesisFlushPlan"/>) sent in
/// requests within the service's limits. A request that is partly refused (<c>FailedPutCount</c> /
/// <c>FailedRecordCount</c>) is resent with only its failed records, after a backoff; throttling and 5xx answers are
/// retried the same way. <see cref="FlushAsync"/> returns Ok only when every record was accepted (or counted as
/// dropped: too large, or refused as invalid); on Retry the records that did go through are remembered so the
/// engine's retry of the chunk does not send them twice.
/// </summary>
internal sealed class KinesisOutput : IOutput
{
    private readonly KinesisOutputSettings _settings;
    private readonly IKinesisRecordsClient _client;
    private readonly ILogger _logger;
    private readonly OutputMetrics _outputMetrics;
    private readonly FluentJsonFlags _jsonFlags;
    private readonly RecordAccessor? _logKey;
    private readonly RecordAccessor? _partitionKey;
    private readonly byte[][]? _dataKeys;
    private readonly CloudWatchRetryBackoff _backoff;

    // Record ordinals of a chunk already accepted, kept across the engine's retries of that chunk.
    private readonly KinesisChunkProgress _progress = new();
    private readonly string _operation;
    private readonly string _permission;

    public KinesisOutput(string name, KinesisOutputSettings settings, IKinesisRecordsClient client, OutputContext context, ILogger logger)
    {
        Name = name;
        _settings = settings;
        _client = client;
        _logger = logger;
        _outputMetrics = new OutputMetrics(name);
        Metrics = new KinesisMetrics(name);
        _jsonFlags = context.JsonFlags;
        _logKey = settings.LogKey is null ? null : RecordAccessor.Parse("$" + settings.LogKey);
        _partitionKey = settings.PartitionKey is null ? null : RecordAccessor.Parse("$" + settings.PartitionKey);
        if (settings.DataKeys is { } keys)
        {
            _dataKeys = new byte[keys.Count][];
            for (var i = 0; i < keys.Count; i++)
            {
                _dataKeys[i] = Encoding.UTF8.GetBytes(keys[i]);
            }
        }

        _backoff = new CloudWatchRetryBackoff(settings.AutoRetryRequests ? settings.MaxAttempts : 1, settings.BackoffBase, settings.BackoffCap, context.TimeProvider);
        var firehose = settings.Service == KinesisService.Firehose;
        _operation = firehose ? "PutRecordBatch" : "PutRecords";
        _permission = firehose ? "firehose:PutRecordBatch" : "kinesis:PutRecords";
    }

    public string Name { get; }

    internal KinesisMetrics Metrics { get; }

    internal KinesisOutputSettings Settings => _settings;

    public async ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        Metrics.Received(chunk.EventCount);
        KinesisFlushPlan plan;
        try
        {
            plan = KinesisFlushPlan.Build(chunk, _settings, _logKey, _partitionKey, _dataKeys, _jsonFlags);
        }
        catch (Exception ex) when (ex is EventFormatException or MsgpackFormatException or MessagePack.MessagePackSerializationException)
        {
            KinesisLog.MalformedChunk(_logger, Name, chunk.Tag, ex.Message);
            return _outputMetrics.Failed(FlushResult.Error);
        }

        using (plan)
        {
            var delivered = _progress.Find(chunk);
            if (delivered is null)
            {
                // Report what the plan left out once per chunk, not again on every retry of it.
                ReportDropped(plan, chunk.Tag);
                delivered = [];
            }

            try
            {
                foreach (var (first, count) in plan.Requests)
                {
                    if (!await SendRequestAsync(plan, first, count, delivered, cancellationToken).ConfigureAwait(false))
                    {
                        _progress.Remember(chunk, delivered);
                        return _outputMetrics.Failed(FlushResult.Retry);
                    }
                }
            }
            catch (OperationCanceledException)
            {
                _progress.Remember(chunk, delivered);
                throw;
            }
            catch (Exception ex)
            {
                _progress.Remember(chunk, delivered);
                KinesisLog.UnexpectedFailure(_logger, Name, chunk.Tag, ex);
                return _outputMetrics.Failed(FlushResult.Retry);
            }

            _progress.Forget(chunk);
            _outputMetrics.Delivered(plan.EventCount, plan.DataBytes);
            return FlushResult.Ok;
        }
    }

    private void ReportDropped(KinesisFlushPlan plan, string tag)
    {
        if (plan.Dropped == 0)
        {
            return;
        }

        Metrics.Dropped(plan.Dropped);
        if (plan.LogKeyMissing > 0)
        {
            KinesisLog.LogKeyMissing(_logger, Name, plan.LogKeyMissing, tag, _settings.LogKey!);
        }

        var tooLarge = plan.Dropped - plan.LogKeyMissing;
        if (tooLarge > 0 && plan.LargestDropped > 0)
        {
            KinesisLog.RecordsTooLarge(_logger, Name, tooLarge, tag, _settings.MaxRecordBytes, plan.LargestDropped);
        }
    }

    /// <summary>
    /// Sends records [first, first+count) not yet delivered; resends only the failed ones until all are accepted.
    /// False when some must wait for the engine's retry (what was accepted is in <paramref name="delivered"/>).
    /// </summary>
    private async Task<bool> SendRequestAsync(KinesisFlushPlan plan, int first, int count, HashSet<int> delivered, CancellationToken cancellationToken)
    {
        var pending = ArrayPool<int>.Shared.Rent(count);
        var slices = ArrayPool<KinesisRecordSlice>.Shared.Rent(count);
        try
        {
            var pendingCount = 0;
            for (var i = first; i < first + count; i++)
            {
                if (!delivered.Contains(i))
                {
                    pending[pendingCount++] = i;
                }
            }

            var attempt = 0;
            while (pendingCount > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var records = plan.Records;
                for (var i = 0; i < pendingCount; i++)
                {
                    slices[i] = records[pending[i]];
                }

                var result = await _client.PutRecordsAsync(_settings.StreamName, plan.Data, plan.Keys, slices.AsMemory(0, pendingCount), cancellationToken).ConfigureAwait(false);
                var response = result.Response;
                Metrics.Request(response.Kind == AwsErrorKind.Transient || (result.IsSuccess && result.FailedCount > 0));
                if (!result.IsSuccess)
                {
                    switch (response.Kind)
                    {
                        case AwsErrorKind.Transient:
                            if (await BackOffAsync(++attempt, response.ToString(), pendingCount, cancellationToken).ConfigureAwait(false))
                            {
                                continue;
                            }

                            return false;
                        case AwsErrorKind.Auth:
                            KinesisLog.AuthFailure(_logger, Name, _operation, _settings.StreamName, response.ToString(), _permission);
                            return false;
                        case AwsErrorKind.NotFound:
                            KinesisLog.StreamMissing(_logger, Name, _settings.StreamName, _settings.Region, response.ToString());
                            return false;
                        default:
                            // InvalidArgumentException, ValidationException and the like: the same bytes will be refused again.
                            KinesisLog.RequestRefused(_logger, Name, _operation, pendingCount, _settings.StreamName, response.ToString());
                            Metrics.Dropped(pendingCount);
                            for (var i = 0; i < pendingCount; i++)
                            {
                                delivered.Add(pending[i]);
                            }

                            return true;
                    }
                }

                // Keep the failed records, in order, at the front of `pending`; mark the rest delivered.
                var failed = 0;
                for (var i = 0; i < pendingCount; i++)
                {
                    if (result.ErrorCodes[i] is null)
                    {
                        delivered.Add(pending[i]);
                    }
                    else
                    {
                        pending[failed++] = pending[i];
                    }
                }

                Metrics.Sent(pendingCount - failed);
                if (failed == 0)
                {
                    return true;
                }

                var sent = pendingCount;
                pendingCount = failed;
                Metrics.Retried(failed);
                if (!_backoff.CanRetry(++attempt))
                {
                    KinesisLog.GivingUp(_logger, Name, _operation, _settings.StreamName, result.FirstErrorMessage ?? "records failed", pendingCount);
                    return false;
                }

                KinesisLog.PartialFailure(_logger, Name, failed, sent, _settings.StreamName, result.FirstErrorMessage ?? "records failed", attempt, _backoff.MaxAttempts - 1);
                await _backoff.WaitAsync(attempt, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }
        finally
        {
            ArrayPool<int>.Shared.Return(pending);
            ArrayPool<KinesisRecordSlice>.Shared.Return(slices);
        }
    }

    private async Task<bool> BackOffAsync(int attempt, string error, int pending, CancellationToken cancellationToken)
    {
        if (!_backoff.CanRetry(attempt))
        {
            KinesisLog.GivingUp(_logger, Name, _operation, _settings.StreamName, error, pending);
            return false;
        }

        KinesisLog.TransientFailure(_logger, Name, _operation, _settings.StreamName, error, attempt, _backoff.MaxAttempts - 1);
        await _backoff.WaitAsync(attempt, cancellationToken).ConfigureAwait(false);
        return true;
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }
}
