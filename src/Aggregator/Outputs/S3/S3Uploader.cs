using Amazon.Runtime;
using Amazon.S3;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>
/// The background half of the S3 output: wakes when a part or object is ready (or every timer tick, to seal
/// objects whose upload_timeout passed) and moves store_dir into S3 in object order. A multipart object's upload
/// id and each part's ETag are persisted before the local copy is dropped, and "completing" before
/// CompleteMultipartUpload, so after any kill the upload is resumed or completed, never left orphaned. Objects
/// that fit in one part go up with PutObject.
/// </summary>
internal sealed class S3Uploader : IAsyncDisposable
{
    private static readonly TimeSpan BackoffCap = TimeSpan.FromMinutes(5);
    private readonly S3OutputSettings _settings;
    private readonly S3Store _store;
    private readonly IS3ObjectClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly S3Metrics _metrics;
    private readonly OutputMetrics _outputMetrics;
    private readonly string _name;
    private readonly S3UploadBackoff _backoff;
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public S3Uploader(string name, S3OutputSettings settings, S3Store store, IS3ObjectClient client, TimeProvider time, ILogger logger, S3Metrics metrics, OutputMetrics outputMetrics)
    {
        _name = name;
        _settings = settings;
        _store = store;
        _client = client;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _outputMetrics = outputMetrics;
        _backoff = new S3UploadBackoff(TimeSpan.FromSeconds(1), BackoffCap, time);
    }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    /// <summary>Something is ready to upload: run a pass now instead of at the next tick.</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // A pass is already pending.
        }
    }

    /// <summary>
    /// Clean shutdown: seal everything and keep uploading for up to <see cref="S3OutputSettings.ShutdownUploadGrace"/>;
    /// what is left stays in store_dir for the next start.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped mid-request; the state on disk says where to resume.
        }

        _store.SealDue(_time.GetUtcNow(), all: true);
        using (var grace = new CancellationTokenSource(_settings.ShutdownUploadGrace, _time))
        {
            try
            {
                await RunPassAsync(ignoreBackoff: true, grace.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Grace over.
            }
        }

        if (_store.ObjectCount > 0)
        {
            S3Log.LeftInStore(_logger, _name, _store.ObjectCount, _store.StoredBytes, _settings.StoreDirectory);
        }

        _stop.Dispose();
        _wake.Dispose();
    }

    /// <summary>One pass over store_dir (tests drive the uploader with this instead of the loop).</summary>
    internal async Task<bool> RunPassAsync(bool ignoreBackoff, CancellationToken cancellationToken)
    {
        _store.SealDue(_time.GetUtcNow());
        var allDone = true;
        var blockedTags = new HashSet<string>(StringComparer.Ordinal);
        foreach (var stored in _store.Snapshot())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (blockedTags.Contains(stored.Tag) || (!ignoreBackoff && !_backoff.IsDue(stored.Id)))
            {
                if (_settings.PreserveDataOrdering)
                {
                    blockedTags.Add(stored.Tag);
                }

                allDone = false;
                continue;
            }

            if (!await AdvanceAsync(stored, cancellationToken).ConfigureAwait(false))
            {
                allDone = false;
                if (_settings.PreserveDataOrdering)
                {
                    // Later objects of this tag wait, so S3 receives a tag's data in order.
                    blockedTags.Add(stored.Tag);
                }
            }
        }

        return allDone;
    }

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await RunPassAsync(ignoreBackoff: false, stop).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                S3Log.UploaderFailed(_logger, ex, _name);
            }

            using var tick = CancellationTokenSource.CreateLinkedTokenSource(stop);
            var woken = _wake.WaitAsync(tick.Token);
            var timer = Task.Delay(_settings.TimerInterval, _time, tick.Token);
            await Task.WhenAny(woken, timer).ConfigureAwait(false);
            await tick.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(woken, timer).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The other waiter, cancelled above.
            }
        }
    }

    /// <summary>Moves one object as far as it can go now; false when a request failed (backoff recorded).</summary>
    private async Task<bool> AdvanceAsync(S3StoredObject stored, CancellationToken cancellationToken)
    {
        var (sealedParts, objectSealed) = _store.Work(stored);
        if (!objectSealed && sealedParts.Count == 0)
        {
            return true;
        }

        try
        {
            if (stored.UploadId is null && stored.UploadedParts.Count == 0 && objectSealed && sealedParts.Count <= 1)
            {
                if (sealedParts.Count == 1)
                {
                    await using var body = new S3PartPayloadStream(sealedParts[0]);
                    await _client.PutObjectAsync(stored.Key, body, cancellationToken).ConfigureAwait(false);
                    Done(stored, stored.Key, "PutObject");
                }

                _store.Remove(stored);
                _backoff.Succeeded(stored.Id);
                return true;
            }

            if (stored.UploadId is null)
            {
                await StartUploadAsync(stored, cancellationToken).ConfigureAwait(false);
            }

            foreach (var part in sealedParts)
            {
                string etag;
                await using (var body = new S3PartPayloadStream(part))
                {
                    etag = await _client.UploadPartAsync(stored.Key, stored.UploadId!, part.Number, body, cancellationToken).ConfigureAwait(false);
                }

                _store.RecordPartUploaded(stored, part, etag);
                _metrics.PartUploaded();
            }

            if (objectSealed)
            {
                if (stored.UploadedParts.Count == 0)
                {
                    await _client.AbortMultipartUploadAsync(stored.Key, stored.UploadId!, cancellationToken).ConfigureAwait(false);
                    _store.Remove(stored);
                }
                else
                {
                    if (!stored.Completing)
                    {
                        _store.MarkCompleting(stored);
                    }

                    await _client.CompleteMultipartUploadAsync(stored.Key, stored.UploadId!, stored.UploadedParts, cancellationToken).ConfigureAwait(false);
                    Done(stored, stored.Key, $"multipart, {stored.UploadedParts.Count} parts");
                    _store.Remove(stored);
                }
            }

            _backoff.Succeeded(stored.Id);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload" && stored.UploadId is not null)
        {
            return await UploadVanishedAsync(stored, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or TimeoutException
                                   || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            Failed(stored, ex);
            return false;
        }
    }

    /// <summary>
    /// CreateMultipartUpload, made safe against a kill or a lost answer: the intent is persisted first, and an
    /// intent found unfinished means S3 may already hold an upload for the key, which is adopted (extra ones are
    /// aborted) rather than left to accumulate storage charges.
    /// </summary>
    private async Task StartUploadAsync(S3StoredObject stored, CancellationToken cancellationToken)
    {
        if (stored.CreatingUpload)
        {
            var existing = await _client.ListMultipartUploadsAsync(stored.Key, cancellationToken).ConfigureAwait(false);
            if (existing.Count > 0)
            {
                for (var i = 1; i < existing.Count; i++)
                {
                    await _client.AbortMultipartUploadAsync(stored.Key, existing[i], cancellationToken).ConfigureAwait(false);
                }

                S3Log.UploadAdopted(_logger, _name, existing[0], _settings.Bucket, stored.Key, existing.Count - 1);
                _store.RecordUploadId(stored, existing[0]);
                return;
            }
        }
        else
        {
            _store.MarkCreatingUpload(stored);
        }

        var uploadId = await _client.CreateMultipartUploadAsync(stored.Key, cancellationToken).ConfigureAwait(false);
        _store.RecordUploadId(stored, uploadId);
    }

    /// <summary>
    /// S3 no longer knows the upload id. If we had sent CompleteMultipartUpload (and were killed before noting it
    /// done), the object exists and we are done; otherwise someone aborted it and the rest starts over.
    /// </summary>
    private async Task<bool> UploadVanishedAsync(S3StoredObject stored, CancellationToken cancellationToken)
    {
        try
        {
            if (stored.Completing && await _client.ObjectExistsAsync(stored.Key, cancellationToken).ConfigureAwait(false))
            {
                Done(stored, stored.Key, "multipart, completed before a restart");
                _store.Remove(stored);
                _backoff.Succeeded(stored.Id);
                return true;
            }
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
        {
            Failed(stored, ex);
            return false;
        }

        long lost = 0;
        foreach (var part in stored.UploadedParts)
        {
            lost += part.Records;
        }

        S3Log.UploadVanished(_logger, _name, stored.UploadId!, _settings.Bucket, stored.Key, lost);
        _store.ForgetUpload(stored);
        return false;
    }

    private void Done(S3StoredObject stored, string key, string how)
    {
        _metrics.ObjectUploaded();
        _outputMetrics.Delivered(stored.Records, stored.PayloadBytes);
        S3Log.Uploaded(_logger, _name, _settings.Bucket, key, stored.Records, stored.PayloadBytes, how);
    }

    private void Failed(S3StoredObject stored, Exception ex)
    {
        _metrics.UploadFailed();
        var (failures, delay) = _backoff.Failed(stored.Id);
        var error = ex is AmazonServiceException service
            ? $"{service.ErrorCode ?? ((int)service.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}: {service.Message}"
            : ex.Message;
        if (failures >= _settings.RetryLimit && (failures == _settings.RetryLimit || delay == BackoffCap))
        {
            S3Log.RetryLimitReached(_logger, _name, _settings.Bucket, stored.Key, failures, _settings.RetryLimit, error, _settings.StoreDirectory, delay);
        }
        else
        {
            S3Log.UploadFailed(_logger, _name, _settings.Bucket, stored.Key, error, failures, delay);
        }
    }
}
