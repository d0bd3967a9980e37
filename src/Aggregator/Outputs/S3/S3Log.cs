using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>S3 output messages; event ids 1700-1749.</summary>
internal static partial class S3Log
{
    [LoggerMessage(EventId = 1700, Level = LogLevel.Information, Message = "[{Output}] uploaded s3://{Bucket}/{Key} ({Records} records, {Bytes} bytes, {How})")]
    public static partial void Uploaded(ILogger logger, string output, string bucket, string key, long records, long bytes, string how);

    [LoggerMessage(EventId = 1701, Level = LogLevel.Warning, Message = "[{Output}] upload of s3://{Bucket}/{Key} failed ({Error}); attempt {Failures}, next in {Delay}; the records stay in store_dir")]
    public static partial void UploadFailed(ILogger logger, string output, string bucket, string key, string error, int failures, TimeSpan delay);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Error, Message = "[{Output}] s3://{Bucket}/{Key} still fails after {Failures} attempts (retry_limit {RetryLimit}): {Error}; the records stay in store_dir '{StoreDir}' and are retried every {Delay}")]
    public static partial void RetryLimitReached(ILogger logger, string output, string bucket, string key, int failures, int retryLimit, string error, string storeDir, TimeSpan delay);

    [LoggerMessage(EventId = 1703, Level = LogLevel.Information, Message = "[{Output}] resuming s3 object '{Key}' from store_dir: {Records} records, {Parts} parts to upload, {Uploaded} already uploaded (upload id {UploadId})")]
    public static partial void ObjectRecovered(ILogger logger, string output, string key, long records, int parts, int uploaded, string uploadId);

    [LoggerMessage(EventId = 1704, Level = LogLevel.Warning, Message = "[{Output}] cut a torn frame of {Bytes} bytes at the end of '{Path}' (a flush interrupted by a kill; it was not acknowledged)")]
    public static partial void TornFrameCut(ILogger logger, string output, string path, long bytes);

    [LoggerMessage(EventId = 1705, Level = LogLevel.Warning, Message = "[{Output}] store_dir index file '{Path}' holds '{Text}', not a number; $INDEX restarts at 0")]
    public static partial void IndexUnreadable(ILogger logger, string output, string path, string text);

    [LoggerMessage(EventId = 1706, Level = LogLevel.Warning, Message = "[{Output}] store_dir is at store_dir_limit_size ({Limit} bytes); the chunk with tag '{Tag}' goes back to the engine for a retry")]
    public static partial void StoreFull(ILogger logger, string output, long limit, string tag);

    [LoggerMessage(EventId = 1707, Level = LogLevel.Error, Message = "[{Output}] could not write to store_dir '{StoreDir}' for tag '{Tag}'; the engine retries the chunk")]
    public static partial void StoreWriteFailed(ILogger logger, Exception exception, string output, string storeDir, string tag);

    [LoggerMessage(EventId = 1708, Level = LogLevel.Error, Message = "[{Output}] dropping malformed chunk with tag '{Tag}': {Reason}")]
    public static partial void MalformedChunk(ILogger logger, string output, string tag, string reason);

    [LoggerMessage(EventId = 1709, Level = LogLevel.Warning, Message = "[{Output}] record with tag '{Tag}' has no '{LogKey}'; skipped, as Fluent Bit does")]
    public static partial void LogKeyMissing(ILogger logger, string output, string tag, string logKey);

    [LoggerMessage(EventId = 1710, Level = LogLevel.Error, Message = "[{Output}] multipart upload {UploadId} of s3://{Bucket}/{Key} no longer exists in S3 (aborted outside Gateway?); {Lost} records of its uploaded parts are lost, the rest is uploaded under a new upload")]
    public static partial void UploadVanished(ILogger logger, string output, string uploadId, string bucket, string key, long lost);

    [LoggerMessage(EventId = 1711, Level = LogLevel.Information, Message = "[{Output}] shutting down with {Objects} objects ({Bytes} bytes) not yet in S3; they stay in store_dir '{StoreDir}' for the next start")]
    public static partial void LeftInStore(ILogger logger, string output, int objects, long bytes, string storeDir);

    [LoggerMessage(EventId = 1713, Level = LogLevel.Information, Message = "[{Output}] adopted multipart upload {UploadId} of s3://{Bucket}/{Key}, created before a restart or a lost answer ({Aborted} extra aborted)")]
    public static partial void UploadAdopted(ILogger logger, string output, string uploadId, string bucket, string key, int aborted);

    [LoggerMessage(EventId = 1714, Level = LogLevel.Error, Message = "[{Output}] cannot read the s3 object state in '{Directory}'; it is left in place and not uploaded")]
    public static partial void ObjectUnreadable(ILogger logger, Exception exception, string output, string directory);

    [LoggerMessage(EventId = 1712, Level = LogLevel.Error, Message = "[{Output}] the uploader failed unexpectedly; retrying")]
    public static partial void UploaderFailed(ILogger logger, Exception exception, string output);
}
