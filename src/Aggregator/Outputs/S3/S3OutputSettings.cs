using Gateway.Engine.Json;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>How an <c>[OUTPUT] s3</c> section's objects are compressed (Fluent Bit's <c>compression</c>).</summary>
internal enum S3Compression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>The validated options of one <c>[OUTPUT] s3</c> section (Fluent Bit's out_s3 names and defaults).</summary>
internal sealed record S3OutputSettings
{
    /// <summary>S3's smallest part for every part but the last; Fluent Bit's minimum <c>upload_chunk_size</c>.</summary>
    public const long MinimumPartSize = 5_242_880;

    public required string Bucket { get; init; }

    public string Region { get; init; } = "us-east-1";

    public Uri? Endpoint { get; init; }

    public string? StsEndpoint { get; init; }

    public string? Profile { get; init; }

    public string? RoleArn { get; init; }

    public string? ExternalId { get; init; }

    public required S3KeyFormat KeyFormat { get; init; }

    /// <summary>An object is uploaded (completed) once its buffered payload reaches this many bytes.</summary>
    public long TotalFileSize { get; init; } = 100_000_000;

    /// <summary>A multipart part is cut and uploaded once it holds this many (compressed) bytes.</summary>
    public long UploadChunkSize { get; init; } = MinimumPartSize;

    /// <summary>An object is uploaded this long after its first record arrived, however small.</summary>
    public TimeSpan UploadTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public bool UsePutObject { get; init; }

    public S3Compression Compression { get; init; }

    public string? ContentType { get; init; }

    public required string StoreDirectory { get; init; }

    /// <summary>0: unlimited. Above it flushes are refused (the engine keeps and retries the chunk).</summary>
    public long StoreDirectoryLimit { get; init; }

    public bool SendContentMd5 { get; init; }

    public string? LogKey { get; init; }

    public string? JsonDateKey { get; init; } = "date";

    public JsonDateFormat JsonDateFormat { get; init; } = JsonDateFormat.Iso8601;

    /// <summary>Objects of a tag are uploaded strictly in the order they were started (Fluent Bit's default: on).</summary>
    public bool PreserveDataOrdering { get; init; } = true;

    /// <summary>Upload attempts of one object in a row before the error is logged loudly; the data is kept and retried with a longer backoff.</summary>
    public int RetryLimit { get; init; } = 1;

    public string? CannedAcl { get; init; }

    public string? StorageClass { get; init; }

    /// <summary>How long a clean shutdown keeps uploading what is buffered before leaving it in store_dir for the next start.</summary>
    public TimeSpan ShutdownUploadGrace { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the uploader looks for objects whose upload_timeout passed.</summary>
    public TimeSpan TimerInterval { get; init; } = TimeSpan.FromSeconds(1);

    public string ContentEncoding => Compression switch
    {
        S3Compression.Gzip => "gzip",
        S3Compression.Zstd => "zstd",
        _ => string.Empty,
    };
}
