using Microsoft.Win32.SafeHandles;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>One framed part file in store_dir: the payload of one S3 part (or of a whole PutObject).</summary>
internal sealed class S3StoredPart
{
    public S3StoredPart(int number, string path)
    {
        Number = number;
        Path = path;
    }

    /// <summary>The S3 part number this file becomes (1-based).</summary>
    public int Number { get; }

    public string Path { get; }

    /// <summary>Open for appends until the part is sealed.</summary>
    public SafeFileHandle? WriteHandle { get; set; }

    /// <summary>Bytes in the file, frame headers included.</summary>
    public long FileLength { get; set; }

    /// <summary>Bytes S3 receives: the payloads without frame headers.</summary>
    public long PayloadBytes { get; set; }

    public long Records { get; set; }

    /// <summary>Where each payload sits in the file, in order; what <see cref="S3PartPayloadStream"/> reads.</summary>
    public List<S3Frame> Frames { get; } = [];

    /// <summary>No more appends: the part may be uploaded.</summary>
    public bool Sealed { get; set; }
}

/// <summary>One appended payload: its offset in the part file (after the header) and its length.</summary>
internal readonly record struct S3Frame(long FileOffset, int Length);

/// <summary>A part S3 has acknowledged (its ETag is what CompleteMultipartUpload needs).</summary>
internal sealed record S3UploadedPart(int Number, string ETag, long PayloadBytes, long Records);

/// <summary>
/// One S3 object being built in store_dir: its key (fixed when its first record arrives, so a restart uploads to
/// the same key), its parts, and the multipart upload id with the parts already uploaded. Mutated only under the
/// store's lock.
/// </summary>
internal sealed class S3StoredObject
{
    public required long Id { get; init; }

    public required string Directory { get; init; }

    public required string Tag { get; init; }

    public required string Key { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>Parts not yet uploaded, in part-number order; the last one takes appends while unsealed.</summary>
    public List<S3StoredPart> Parts { get; } = [];

    public List<S3UploadedPart> UploadedParts { get; } = [];

    public string? UploadId { get; set; }

    /// <summary>
    /// CreateMultipartUpload was sent and its answer not yet recorded: if a kill or a lost answer left an upload
    /// in S3, the next attempt finds it by listing the key's uploads and adopts it instead of orphaning it.
    /// </summary>
    public bool CreatingUpload { get; set; }

    /// <summary>CompleteMultipartUpload was sent (persisted first, so a restart knows a missing upload may mean done).</summary>
    public bool Completing { get; set; }

    /// <summary>No more appends: once its parts are up the object is completed (or put) and removed.</summary>
    public bool Sealed { get; set; }

    public int NextPartNumber { get; set; } = 1;

    public long PayloadBytes { get; set; }

    public long Records { get; set; }
}
