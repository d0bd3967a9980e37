using Gateway.Engine.Config;

namespace Gateway.Aggregator.Buffer;

/// <summary>How hard a filesystem append is pushed to disk before it is acknowledged (<c>storage.sync</c>).</summary>
internal enum StorageSync
{
    /// <summary>Written to the OS (page cache): survives the process being killed, not a power loss.</summary>
    Normal,

    /// <summary>fsync'd: survives a power loss; each group commit costs one fsync.</summary>
    Full,
}

/// <summary>Where an input's chunks live (<c>storage.type</c>).</summary>
internal enum StorageType
{
    Memory,
    Filesystem,
}

/// <summary>
/// The buffer's settings from <c>[SERVICE]</c>, with Fluent Bit's names and defaults where Fluent Bit has them.
/// </summary>
internal sealed class BufferOptions
{
    private readonly long? _chunkMemoryLimitBytes;

    /// <summary>
    /// Fluent Bit's filesystem chunk size (<c>FLB_INPUT_CHUNK_FS_MAX_SIZE</c>); <c>storage.max_chunks_up</c>
    /// counts chunks of about this size.
    /// </summary>
    public const long NominalChunkBytes = 2_048_000;

    /// <summary>Root directory of segment files; null means memory-only buffering.</summary>
    public string? StoragePath { get; init; }

    public StorageSync Sync { get; init; } = StorageSync.Normal;

    /// <summary>CRC32C over every stored frame; off by default as in Fluent Bit.</summary>
    public bool Checksum { get; init; }

    /// <summary>
    /// How many filesystem chunks may be held in memory ("up") at once, as Fluent Bit counts them; the rest wait on
    /// disk and are read back under <see cref="BacklogMemLimitBytes"/>. Also sizes the byte budget every chunk in
    /// memory shares (<see cref="ChunkMemoryLimitBytes"/>), which is what bounds memory-storage inputs.
    /// </summary>
    public int MaxChunksUp { get; init; } = 128;

    /// <summary>Bytes of on-disk chunks that may be loaded into memory at once to be flushed.</summary>
    public long BacklogMemLimitBytes { get; init; } = 5_000_000; // Fluent Bit default "5M" (decimal units)

    /// <summary>Disk cap for all segments; appends wait when reached. Null = no cap.</summary>
    public long? TotalLimitBytes { get; init; }

    /// <summary>Whether chunks an output rejected are kept as files (dead letter).</summary>
    public bool KeepRejected { get; init; }

    /// <summary>Dead-letter root; defaults to <c>&lt;storage.path&gt;/rejected</c>.</summary>
    public string? RejectedPath { get; init; }

    /// <summary>How long shutdown waits for in-flight chunks (<c>Grace</c>, Fluent Bit default 5 s).</summary>
    public TimeSpan Grace { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Retry backoff floor (<c>scheduler.base</c>, seconds).</summary>
    public TimeSpan SchedulerBase { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Retry backoff ceiling (<c>scheduler.cap</c>, seconds).</summary>
    public TimeSpan SchedulerCap { get; init; } = TimeSpan.FromSeconds(2000);

    /// <summary>A segment file is sealed (and can later be deleted) once it grows past this size.</summary>
    public long SegmentBytes { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// The memory budget for chunks held in memory: <see cref="MaxChunksUp"/> × <see cref="NominalChunkBytes"/>
    /// unless set directly (tests, or a host that knows its container limit).
    /// </summary>
    public long ChunkMemoryLimitBytes
    {
        get => _chunkMemoryLimitBytes ?? MaxChunksUp * NominalChunkBytes;
        init => _chunkMemoryLimitBytes = value;
    }

    /// <summary>The default storage type of an input that does not say: filesystem when a path is set.</summary>
    public StorageType DefaultStorageType => StoragePath is null ? StorageType.Memory : StorageType.Filesystem;

    /// <summary>The dead-letter root in effect, or null when rejected chunks are only counted.</summary>
    public string? EffectiveRejectedPath
    {
        get
        {
            if (!KeepRejected)
            {
                return null;
            }

            return RejectedPath ?? (StoragePath is null ? null : Path.Combine(StoragePath, "rejected"));
        }
    }

    /// <summary>Reads the <c>[SERVICE]</c> section (null = all defaults). Bad values throw with file:line.</summary>
    public static BufferOptions FromService(ConfigSection? service)
    {
        if (service is null)
        {
            return new BufferOptions();
        }

        var path = service.Find("storage.path");
        var rejectedPath = service.Find("storage.rejected.path");
        var keepRejected = service.Find("storage.keep.rejected");
        var storagePath = path is null || path.Value.Length == 0 ? null : path.Value;

        var options = new BufferOptions
        {
            StoragePath = storagePath,
            Sync = ParseSync(service.Find("storage.sync")),
            Checksum = ConfigValues.Bool(service.Find("storage.checksum"), false),
            MaxChunksUp = (int)ConfigValues.Integer(service.Find("storage.max_chunks_up"), 128, 1, 1_000_000),
            BacklogMemLimitBytes = ConfigValues.Size(service.Find("storage.backlog.mem_limit"), 5_000_000, 1),
            TotalLimitBytes = ConfigValues.OptionalSize(service.Find("storage.total_limit_size"), 1024 * 1024),
            RejectedPath = rejectedPath is null || rejectedPath.Value.Length == 0 ? null : rejectedPath.Value,

            // Our departure from Fluent Bit (default off): losing rejected data silently is worse than a file,
            // so rejected chunks are kept whenever there is somewhere to keep them, unless switched off.
            KeepRejected = ConfigValues.Bool(keepRejected, storagePath is not null || rejectedPath is not null),
            Grace = TimeSpan.FromSeconds(ConfigValues.Integer(service.Find("Grace"), 5, 0, 3600)),
            SchedulerBase = TimeSpan.FromSeconds(ConfigValues.Integer(service.Find("scheduler.base"), 5, 1, 86_400)),
            SchedulerCap = TimeSpan.FromSeconds(ConfigValues.Integer(service.Find("scheduler.cap"), 2000, 1, 86_400 * 7)),
        };

        if (options.SchedulerCap < options.SchedulerBase)
        {
            var cap = service.Find("scheduler.cap") ?? service.Find("scheduler.base")!;
            throw new ConfigException(cap.Location, "scheduler.cap must not be below scheduler.base");
        }

        return options;
    }

    private static StorageSync ParseSync(ConfigEntry? entry)
    {
        if (entry is null)
        {
            return StorageSync.Normal;
        }

        if (entry.Value.Equals("normal", StringComparison.OrdinalIgnoreCase))
        {
            return StorageSync.Normal;
        }

        if (entry.Value.Equals("full", StringComparison.OrdinalIgnoreCase))
        {
            return StorageSync.Full;
        }

        throw new ConfigException(entry.Location, $"{entry.Key} '{entry.Value}' is not 'normal' or 'full'");
    }
}

/// <summary>Per-input buffer settings: <c>storage.type</c> and <c>Mem_Buf_Limit</c>.</summary>
internal sealed class InputStorageOptions
{
    public StorageType StorageType { get; init; }

    /// <summary>Bytes this input may hold in memory (memory storage); null = the engine-wide budget only.</summary>
    public long? MemBufLimitBytes { get; init; }

    public static InputStorageOptions FromInput(ConfigSection input, BufferOptions buffer)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(buffer);
        var type = buffer.DefaultStorageType;
        var typeEntry = input.Find("storage.type");
        if (typeEntry is not null)
        {
            if (typeEntry.Value.Equals("memory", StringComparison.OrdinalIgnoreCase))
            {
                type = StorageType.Memory;
            }
            else if (typeEntry.Value.Equals("filesystem", StringComparison.OrdinalIgnoreCase))
            {
                if (buffer.StoragePath is null)
                {
                    throw new ConfigException(
                        typeEntry.Location, "storage.type filesystem needs storage.path in [SERVICE]");
                }

                type = StorageType.Filesystem;
            }
            else
            {
                throw new ConfigException(
                    typeEntry.Location, $"storage.type '{typeEntry.Value}' is not 'memory' or 'filesystem'");
            }
        }

        return new InputStorageOptions
        {
            StorageType = type,
            MemBufLimitBytes = ConfigValues.OptionalSize(input.Find("Mem_Buf_Limit"), 1),
        };
    }
}
