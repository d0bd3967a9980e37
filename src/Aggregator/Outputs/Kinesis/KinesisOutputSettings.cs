using Gateway.Engine.Aws;

namespace Gateway.Aggregator.Outputs.Kinesis;

/// <summary>How each record's data is compressed before base64 (Fluent Bit compresses every record on its own).</summary>
internal enum KinesisCompression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>
/// A validated <c>[OUTPUT] kinesis_firehose</c> / <c>firehose</c> / <c>kinesis_streams</c> / <c>kinesis</c> section,
/// with the API limits of the service it targets.
/// </summary>
internal sealed record KinesisOutputSettings
{
    /// <summary>Firehose: "up to 500 records per call or 4 MiB per call"; "maximum size of a record ... is 1,000 KiB".</summary>
    public const int FirehoseMaxRecords = 500;
    public const int FirehoseMaxRequestBytes = 4 * 1024 * 1024;
    public const int FirehoseMaxRecordBytes = 1000 * 1024;

    /// <summary>Kinesis PutRecords: 500 records, each ≤ 1 MiB (data + partition key), ≤ 5 MiB per request with partition keys.</summary>
    public const int StreamsMaxRecords = 500;
    public const int StreamsMaxRequestBytes = 5 * 1024 * 1024;
    public const int StreamsMaxRecordBytes = 1024 * 1024;

    /// <summary>"Partition keys are Unicode strings with a maximum length limit of 256 characters."</summary>
    public const int MaxPartitionKeyChars = 256;

    public required KinesisService Service { get; init; }

    /// <summary>The plugin name as written (lower case), for messages.</summary>
    public required string Plugin { get; init; }

    public required string Region { get; init; }

    /// <summary><c>delivery_stream</c> (Firehose) or <c>stream</c> (Streams).</summary>
    public required string StreamName { get; init; }

    public Uri? Endpoint { get; init; }

    public string? StsEndpoint { get; init; }

    public string? Profile { get; init; }

    public string? RoleArn { get; init; }

    public string? ExternalId { get; init; }

    /// <summary><c>time_key</c>: add the event time under this key (not added by default).</summary>
    public string? TimeKey { get; init; }

    public AwsTimeFormat TimeKeyFormat { get; init; } = AwsTimeFormat.Parse(AwsTimeFormat.DefaultPattern);

    /// <summary><c>log_key</c>: send only this key's value (a string as its bare text, anything else as JSON).</summary>
    public string? LogKey { get; init; }

    /// <summary><c>data_keys</c> (the Go plugins): keep only these top-level keys; null keeps all.</summary>
    public IReadOnlyList<string>? DataKeys { get; init; }

    public KinesisCompression Compression { get; init; }

    /// <summary><c>partition_key</c> (Streams, as the Go <c>kinesis</c> plugin): the record key whose value is the partition key; null means random.</summary>
    public string? PartitionKey { get; init; }

    /// <summary><c>simple_aggregation</c>: pack consecutive records (each newline-terminated) into one service record.</summary>
    public bool SimpleAggregation { get; init; }

    /// <summary>End each record with a newline (all but the Go <c>kinesis</c> plugin do by default), so concatenated records are JSON lines.</summary>
    public bool AppendNewline { get; init; } = true;

    public string? ExtraUserAgent { get; init; }

    /// <summary><c>auto_retry_requests</c>: retry a failed request inside the flush before handing it back to the engine.</summary>
    public bool AutoRetryRequests { get; init; } = true;

    public int Workers { get; init; } = 1;

    /// <summary>In-flush attempts per request (failed records only after the first) when <see cref="AutoRetryRequests"/> is on.</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan BackoffBase { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan BackoffCap { get; init; } = TimeSpan.FromSeconds(10);

    public int MaxRecords => Service == KinesisService.Firehose ? FirehoseMaxRecords : StreamsMaxRecords;

    public int MaxRequestBytes => Service == KinesisService.Firehose ? FirehoseMaxRequestBytes : StreamsMaxRequestBytes;

    /// <summary>The per-record limit; for Streams the partition key counts against it too.</summary>
    public int MaxRecordBytes => Service == KinesisService.Firehose ? FirehoseMaxRecordBytes : StreamsMaxRecordBytes;
}
