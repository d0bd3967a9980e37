namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>A validated <c>[OUTPUT] cloudwatch_logs</c> / <c>cloudwatch</c> section.</summary>
internal sealed record CloudWatchOutputSettings
{
    /// <summary>Fluent Bit's MAX_EVENT_LEN (256 KiB − 26): within both the old 256 KB and the current 1 MB per-event limit.</summary>
    public const int DefaultMaxEventBytes = 262_118;

    public const int MaxBatchBytes = 1_048_576;
    public const int EventOverheadBytes = 26;
    public const int MaxBatchEvents = 10_000;

    /// <summary>"A batch of log events in a single request cannot span more than 24 hours."</summary>
    public static readonly TimeSpan MaxBatchSpan = TimeSpan.FromHours(24);

    public required string Plugin { get; init; }

    public required string Region { get; init; }

    public Uri? Endpoint { get; init; }

    public string? StsEndpoint { get; init; }

    public string? Profile { get; init; }

    public string? RoleArn { get; init; }

    public string? ExternalId { get; init; }

    /// <summary>The group name for a record (a template, or the static name).</summary>
    public required CloudWatchNameTemplate Group { get; init; }

    /// <summary>Used when <see cref="Group"/> renders nothing for a record.</summary>
    public required CloudWatchNameTemplate GroupFallback { get; init; }

    public required CloudWatchNameTemplate Stream { get; init; }

    public required CloudWatchNameTemplate StreamFallback { get; init; }

    public string? LogKey { get; init; }

    /// <summary><c>log_format</c>: sent as <c>x-amzn-logs-format</c> (e.g. <c>json/emf</c>); null for plain JSON.</summary>
    public string? LogFormat { get; init; }

    public bool AutoCreateGroup { get; init; }

    public int? RetentionDays { get; init; }

    public string? LogGroupClass { get; init; }

    public string? ExtraUserAgent { get; init; }

    public string? MetricNamespace { get; init; }

    public string? MetricDimensions { get; init; }

    /// <summary><c>auto_retry_requests</c>: retry a failed request inside the flush before handing it back to the engine.</summary>
    public bool AutoRetryRequests { get; init; } = true;

    public int Workers { get; init; } = 1;

    public int MaxEventBytes { get; init; } = DefaultMaxEventBytes;

    /// <summary>In-flush attempts per request when <see cref="AutoRetryRequests"/> is on.</summary>
    public int MaxAttempts { get; init; } = 5;

    public TimeSpan BackoffBase { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan BackoffCap { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a record may wait for its stream's request to fill before a partial one goes: <c>[SERVICE] Flush</c>,
    /// as Fluent Bit flushes its chunks every Flush seconds.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Chunks the engine may have in this output at once, so requests fill from many chunks (Fluent Bit's
    /// chunks carry ≤ ~1,000 records; a request takes 10,000, and every stream fills its own). Their bytes are
    /// charged to the engine's budgets; what this output adds is bounded by <see cref="MaxHeldBytes"/>.
    /// </summary>
    public int MaxChunksInFlight { get; init; } = 1024;

    /// <summary>
    /// Formatted messages held while requests fill (<c>batch_mem_limit</c>, our option: Fluent Bit sends a request
    /// per chunk and holds nothing). Past it the streams holding half a request or more send and the engine waits
    /// before handing over more chunks, so a slow destination cannot grow memory.
    /// </summary>
    public long MaxHeldBytes { get; init; } = DefaultMaxHeldBytes;

    public const long DefaultMaxHeldBytes = 48L * 1024 * 1024;

    /// <summary>Concurrent PutLogEvents calls at most (streams are sent in parallel up to this, adaptively lowered on throttling).</summary>
    public int MaxConcurrentRequests { get; init; } = 8;
}
