using System.Threading.Channels;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Records;
using Gateway.Shipper.Container;
using Gateway.Shipper.Pipeline;
using Gateway.Shipper.State;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>What a tail input needs from its host besides its section.</summary>
public sealed class TailInputContext
{
    /// <summary>Instance name for logs and metrics, e.g. <c>tail.0</c>.</summary>
    public string Name { get; init; } = "tail.0";

    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Clock for record times and timeouts.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Parsers from the configuration (<c>[PARSER]</c> / <c>Parsers_File</c>); a built-in <c>docker</c> is used when it does not define one.</summary>
    public ParserRegistry? Parsers { get; init; }

    /// <summary>Set on every chunk (<see cref="EventChunk.NodeName"/>).</summary>
    public string? NodeName { get; init; }

    /// <summary>Chunks produced but not yet taken from <see cref="TailInput.Chunks"/>; the reader waits when full.</summary>
    public int ChunkQueueCapacity { get; init; } = 64;
}

/// <summary>
/// Fluent Bit's <c>tail</c> input for the node shipper: follows the files matching <c>Path</c>, turns lines into
/// records (raw, <c>Parser</c>, <c>Docker_Mode</c> or <c>multiline.parser docker, cri</c>) and hands out
/// <see cref="InputChunk{TToken}"/>s on <see cref="Chunks"/>. A file's offset is committed to <c>DB</c> only when the chunks
/// covering it are acknowledged (<see cref="InputChunk{TToken}.Acknowledge"/>), so after a crash or restart unacknowledged
/// lines are read again and acknowledged ones are not. Rotation by rename, copytruncate and deletion are followed
/// without losing or repeating lines (except what copytruncate itself destroys).
/// </summary>
/// <remarks>
/// One loop does all reading (as Fluent Bit's input thread): file-system events wake it, and it also polls every
/// <see cref="TailInputOptions.PollInterval"/> and rescans the globs every <c>Refresh_Interval</c>.
/// </remarks>
public sealed class TailInput : IAsyncDisposable
{
    private const int MaxChunkBytes = 512 * 1024;

    private readonly TailInputOptions _options;
    private readonly TailInputContext _context;
    private readonly ILogger _logger;
    private readonly IRecordParser? _parser;
    private readonly TailPathMapper _paths;
    private readonly Channel<InputChunk<TailCommitToken>> _chunks;
    private readonly List<TailFile> _files = new();
    private readonly HashSet<FileIdentity> _tracked = new();
    private readonly Dictionary<FileIdentity, long> _released = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private readonly List<FileSystemWatcher> _watchers = new();
    private readonly TailOffsetStore? _store;
    private readonly TailCommitTracker _tracker;
    private readonly ChunkAcknowledgement _acknowledgement;
    private readonly int _chunkBufferBytes;
    private readonly int _chunkThreshold;
    private bool _rescanRequested;
    private bool _paused;
    private int _disposed;

    /// <summary>Creates the input; opens (and compacts) the offsets DB when <c>DB</c> is set.</summary>
    /// <exception cref="ArgumentException">The <c>Parser</c> named in the options is unknown.</exception>
    public TailInput(TailInputOptions options, TailInputContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _context = context ?? new TailInputContext();
        _logger = _context.Logger;
        Stats = new TailInputStats(_context.Name);
        _paths = new TailPathMapper(options.PathRoot);
        if (options.Parser is not null)
        {
            _parser = TailParsers.Find(_context.Parsers, options.Parser)
                      ?? throw new ArgumentException($"parser '{options.Parser}' is not defined", nameof(options));
        }

        if (options.DbPath is not null)
        {
            _store = TailOffsetStore.Open(_paths.ToPhysical(options.DbPath), options.DbSync, _logger);
        }

        _tracker = new TailCommitTracker(_store);
        _tracker.Acknowledged += Wake;
        _acknowledgement = new ChunkAcknowledgement(_tracker, Stats);
        _chunks = Channel.CreateBounded<InputChunk<TailCommitToken>>(new BoundedChannelOptions(Math.Max(1, _context.ChunkQueueCapacity))
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _chunkBufferBytes = options.MemBufLimit > 0
            ? (int)Math.Clamp(options.MemBufLimit / 4, 4096, MaxChunkBytes)
            : MaxChunkBytes;

        // A chunk is emitted once it is within an eighth of its buffer, so the record that crosses the threshold
        // still fits (records up to 64 KiB with the 512 KiB buffer) and the buffer is handed over without growing:
        // a grown one would be twice the size for the same bytes, and every chunk in flight would cost double.
        _chunkThreshold = _chunkBufferBytes - (_chunkBufferBytes / 8);
    }

    /// <summary>Chunks in production order per file. Acknowledge each once the aggregator has it.</summary>
    public ChannelReader<InputChunk<TailCommitToken>> Chunks => _chunks.Reader;

    public TailInputStats Stats { get; }

    public TailInputOptions Options => _options;

    /// <summary>Bytes handed out and not yet acknowledged (what <c>Mem_Buf_Limit</c> bounds).</summary>
    public long UnacknowledgedBytes => _tracker.UnackedBytes;

    /// <summary>True while reading is paused because unacknowledged bytes reached <c>Mem_Buf_Limit</c>.</summary>
    public bool IsPaused => Volatile.Read(ref _paused);

    internal TailCommitTracker Tracker => _tracker;

    internal TailOffsetStore? OffsetStore => _store;

    /// <summary>
    /// Builds a tail input from an <c>[INPUT] Name tail</c> section. Problems go to <paramref name="diagnostics"/>
    /// with file:line; returns null when there is an error (bad value, unknown parser, unsupported option).
    /// </summary>
    public static TailInput? FromSection(ConfigSection section, TailInputContext context, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(context);
        var options = TailInputOptions.FromSection(section, diagnostics);
        if (options is null)
        {
            return null;
        }

        if (options.Parser is not null && TailParsers.Find(context.Parsers, options.Parser) is null)
        {
            var entry = section.Find("Parser")!;
            diagnostics.Add(new ConfigDiagnostic(entry.Location, DiagnosticSeverity.Error, $"[INPUT tail] parser '{options.Parser}' is not defined"));
            return null;
        }

        if (section.Find("Tag") is null)
        {
            // Fluent Bit tags an untagged input with its instance name.
            options = options with { Tag = context.Name };
        }

        try
        {
            return new TailInput(options, context);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            var entry = section.Find("DB");
            diagnostics.Add(new ConfigDiagnostic(entry?.Location ?? section.Location, DiagnosticSeverity.Error, $"[INPUT tail] cannot open the offsets DB '{options.DbPath}': {ex.Message}"));
            return null;
        }
    }

    /// <summary>Follows files until cancelled; then completes <see cref="Chunks"/>.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            StartWatchers();
            Scan(initial: true);
            var nextScan = _context.Time.GetUtcNow() + _options.RefreshInterval;
            while (!cancellationToken.IsCancellationRequested)
            {
                var now = _context.Time.GetUtcNow();
                if (Volatile.Read(ref _rescanRequested) || now >= nextScan)
                {
                    Volatile.Write(ref _rescanRequested, false);
                    Scan(initial: false);
                    nextScan = now + _options.RefreshInterval;
                }

                var progressed = false;
                for (var i = 0; i < _files.Count; i++)
                {
                    var file = _files[i];
                    progressed |= await ServiceFileAsync(file, now, cancellationToken).ConfigureAwait(false);
                    if (ShouldRelease(file, now))
                    {
                        await ReleaseAsync(file, now, cancellationToken).ConfigureAwait(false);
                        _files.RemoveAt(i);
                        _tracked.Remove(file.Identity);
                        i--;
                    }
                }

                if (!progressed)
                {
                    await _wake.WaitAsync(_options.PollInterval, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: whatever was not acknowledged is read again on the next start.
        }
        finally
        {
            _chunks.Writer.TryComplete();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _tracker.Acknowledged -= Wake;
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        foreach (var file in _files)
        {
            file.Dispose();
        }

        _files.Clear();
        _tracked.Clear();
        _store?.Dispose();
        _wake.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Wake()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
        catch (ObjectDisposedException)
        {
            // Shut down.
        }
    }

    private void RequestRescan()
    {
        Volatile.Write(ref _rescanRequested, true);
        Wake();
    }

    private void StartWatchers()
    {
        var watched = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pattern in _options.Paths)
        {
            var physical = _paths.ToPhysical(pattern);
            var dir = PathGlob.StaticDirectory(physical);
            if (!watched.Add(dir) || !Directory.Exists(dir))
            {
                continue;
            }

            try
            {
                var watcher = new FileSystemWatcher(dir)
                {
                    IncludeSubdirectories = !string.Equals(dir, Path.GetDirectoryName(physical), StringComparison.Ordinal),
                    NotifyFilter = NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.LastWrite,
                };
                watcher.Changed += (_, _) => Wake();
                // A new name may be a new file to follow (or a rotation's replacement): rescan now rather than at
                // the next Refresh_Interval.
                watcher.Created += (_, _) => RequestRescan();
                watcher.Deleted += (_, _) => Wake();
                watcher.Renamed += (_, _) => RequestRescan();
                var reported = 0;
                watcher.Error += (_, e) =>
                {
                    // Overflows under heavy writing repeat; one warning per directory says it (polling covers it).
                    if (Interlocked.Exchange(ref reported, 1) == 0)
                    {
                        TailLog.WatchFailed(_logger, _context.Name, dir, e.GetException().Message, _options.PollInterval);
                    }

                    RequestRescan();
                };
                watcher.EnableRaisingEvents = true;
                _watchers.Add(watcher);
            }
            catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
            {
                TailLog.WatchFailed(_logger, _context.Name, dir, ex.Message, _options.PollInterval);
            }
        }
    }

    private bool IsTracked(FileIdentity identity) => _tracked.Contains(identity);

    private bool IsExcluded(string logicalPath)
    {
        foreach (var exclude in _options.ExcludePaths)
        {
            if (PathGlob.FnMatch(exclude, logicalPath))
            {
                return true;
            }
        }

        return false;
    }

    private void Scan(bool initial)
    {
        var seen = new HashSet<FileIdentity>();
        foreach (var pattern in _options.Paths)
        {
            foreach (var physical in PathGlob.Expand(_paths.ToPhysical(pattern)))
            {
                var logical = _paths.ToLogical(physical);
                if (IsExcluded(logical) || !NativeFileStatus.TryGet(physical, out var status) || !status.IsRegularFile)
                {
                    continue;
                }

                seen.Add(status.Identity);
                if (IsTracked(status.Identity))
                {
                    continue;
                }

                // A rotated file we already drained and released, still matching the glob: not new data. A smaller
                // file with the same identity is a new file that reused the inode.
                if (_released.TryGetValue(status.Identity, out var releasedAt))
                {
                    if (status.Size >= releasedAt)
                    {
                        continue;
                    }

                    _released.Remove(status.Identity);
                }

                TryOpen(physical, logical, initial);
            }
        }

        if (_released.Count > 0)
        {
            foreach (var identity in new List<FileIdentity>(_released.Keys))
            {
                if (!seen.Contains(identity))
                {
                    _released.Remove(identity);
                }
            }
        }

        if (initial && _store is not null)
        {
            // Offsets of files that no longer exist would only grow the DB (and could match a reused inode).
            foreach (var entry in _store.Snapshot())
            {
                if (!seen.Contains(entry.Identity) && !IsTracked(entry.Identity))
                {
                    _store.Remove(entry.Identity);
                    TailLog.StaleOffsetRemoved(_logger, _context.Name, entry.Name, entry.Identity.ToString());
                }
            }
        }
    }

    private void TryOpen(string physical, string logical, bool initial)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle;
        FileStatus status;
        try
        {
            handle = File.OpenHandle(physical, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            status = NativeFileStatus.Get(handle);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            TailLog.OpenFailed(_logger, _context.Name, logical, ex.Message);
            return;
        }

        if (IsTracked(status.Identity))
        {
            handle.Dispose();
            return;
        }

        var tag = TailTagComposer.Compose(_options.Tag, _options.TagRegex, logical);
        if (tag is null)
        {
            TailLog.TagRegexNoMatch(_logger, _context.Name, logical);
            handle.Dispose();
            return;
        }

        long offset;
        var fromStore = false;
        if (_store is not null && _store.TryGet(status.Identity, out var stored))
        {
            fromStore = true;
            offset = stored.Offset;
            if (offset > status.Size)
            {
                TailLog.StoredOffsetBeyondEnd(_logger, _context.Name, logical, status.Size, offset);
                offset = 0;
            }
        }
        else
        {
            // Read_from_Head only concerns files present at start; files that appear later are read from the head
            // (Fluent Bit flips read_from_head after the first scan), so nothing written to them is missed.
            offset = initial && !_options.ReadFromHead ? status.Size : 0;
        }

        var file = new TailFile(
            logical,
            physical,
            handle,
            status.Identity,
            tag,
            offset,
            _options.BufferChunkSize,
            CreateProcessor(),
            new TailEventBuffer(logical, _options.PathKey, _options.OffsetKey, _chunkBufferBytes));
        _files.Add(file);
        _tracked.Add(file.Identity);
        Stats.OnFileOpened();
        if (!fromStore && _store is not null)
        {
            _tracker.Advance(status.Identity, logical, offset);
        }

        TailLog.FileOpened(_logger, _context.Name, logical, status.Identity.ToString(), offset, tag);
    }

    private TailLineProcessor CreateProcessor()
    {
        if (_options.MultilineParsers.Count > 0)
        {
            return new ContainerMultilineProcessor(_options.MultilineParsers, _options.MultilineFlushTimeout);
        }

        var plain = new PlainLineProcessor(_options.Key, _parser);
        return _options.DockerMode ? new DockerModeProcessor(plain, _options.DockerModeFlush) : plain;
    }

    private async ValueTask<bool> ServiceFileAsync(TailFile file, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (file.State == TailFileState.Stopped)
        {
            return false;
        }

        var progressed = false;
        try
        {
            CheckFileState(file, now);
            var budget = Math.Max(4L * _options.BufferChunkSize, 1024 * 1024);
            long readNow = 0;
            while (!MemoryLimitReached())
            {
                var n = ReadStep(file, now);
                if (n == 0)
                {
                    file.Drained = true;
                    break;
                }

                file.Drained = false;
                progressed = true;
                readNow += n;

                // Lines are turned into records until a chunk is full, then the chunk goes and the rest of the read
                // follows: a chunk never outgrows its buffer (which is handed over as it is).
                var emitted = false;
                while (true)
                {
                    Stats.OnRead(0, SplitLines(file, now));
                    if (file.Events.ByteCount < _chunkThreshold)
                    {
                        break;
                    }

                    await EmitAsync(file, cancellationToken).ConfigureAwait(false);
                    emitted = true;
                }

                // Past the budget, the turn ends right after a full chunk went, so what is left for the end-of-turn
                // chunk is at most one read's records rather than a half-full chunk buffer in flight.
                if (readNow >= budget && (emitted || readNow >= 4 * budget))
                {
                    break;
                }
            }
        }
        catch (IOException ex)
        {
            TailLog.ReadFailed(_logger, _context.Name, file.LogicalPath, ex.Message);
        }

        file.Processor.Flush(file.Events, force: false, now);
        await EmitAsync(file, cancellationToken).ConfigureAwait(false);
        return progressed;
    }

    /// <summary>Detects copytruncate, rename and unlink of an active file.</summary>
    private void CheckFileState(TailFile file, DateTimeOffset now)
    {
        if (file.State != TailFileState.Active)
        {
            return;
        }

        var handleStatus = NativeFileStatus.Get(file.Handle);
        if (handleStatus.Size < file.ReadOffset)
        {
            TailLog.FileTruncated(_logger, _context.Name, file.LogicalPath, handleStatus.Size, file.ReadOffset);
            Stats.OnTruncation();

            // Records held from before the truncation are complete as far as they will ever be.
            file.Processor.Flush(file.Events, force: true, now);
            file.Buffered = 0;
            file.ReadOffset = 0;
            file.SkippingLongLine = false;
        }

        if (handleStatus.LinkCount == 0)
        {
            file.State = TailFileState.Deleted;
            file.GoneSince = now;
            Stats.OnRotation();
            _rescanRequested = true;
            TailLog.FileDeleted(_logger, _context.Name, file.LogicalPath);
        }
        else if (!NativeFileStatus.TryGet(file.PhysicalPath, out var pathStatus) || pathStatus.Identity != file.Identity)
        {
            file.State = TailFileState.Rotated;
            file.GoneSince = now;
            Stats.OnRotation();
            _rescanRequested = true;
            TailLog.FileRotated(_logger, _context.Name, file.LogicalPath, _options.RotateWait);
        }
    }

    private bool ShouldRelease(TailFile file, DateTimeOffset now) =>
        file.State is TailFileState.Rotated or TailFileState.Deleted
        && file.Drained
        && now - file.GoneSince >= _options.RotateWait;

    private async ValueTask ReleaseAsync(TailFile file, DateTimeOffset now, CancellationToken cancellationToken)
    {
        file.Processor.Flush(file.Events, force: true, now);
        await EmitAsync(file, cancellationToken).ConfigureAwait(false);
        _tracker.Release(file.Identity);
        if (file.State == TailFileState.Rotated)
        {
            _released[file.Identity] = file.ReadOffset;
        }

        TailLog.FileReleased(_logger, _context.Name, file.LogicalPath, file.Identity.ToString(), file.ReadOffset);
        file.Dispose();
        Stats.OnFileClosed();
    }

    /// <summary>Reads once into the file's buffer (the caller splits it into lines). Returns bytes read.</summary>
    private int ReadStep(TailFile file, DateTimeOffset now)
    {
        if (file.Buffered == file.Capacity && !MakeRoom(file))
        {
            return 0;
        }

        var n = RandomAccess.Read(file.Handle, file.Buffer[file.Buffered..], file.ReadOffset);
        if (n <= 0)
        {
            return 0;
        }

        file.ReadOffset += n;
        file.Buffered += n;
        Stats.OnRead(n, 0);
        return n;
    }

    /// <summary>The buffer is full without a newline: grow to Buffer_Max_Size, then skip or stop per Skip_Long_Lines.</summary>
    private bool MakeRoom(TailFile file)
    {
        if (file.Capacity < _options.BufferMaxSize)
        {
            file.Grow(Math.Min(_options.BufferMaxSize, file.Capacity * 2));
            return true;
        }

        var lineOffset = file.ReadOffset - file.Buffered;
        if (_options.SkipLongLines)
        {
            if (!file.SkippingLongLine)
            {
                TailLog.LongLineSkipped(_logger, _context.Name, file.LogicalPath, _options.BufferMaxSize, lineOffset);
                Stats.OnLongLineSkipped();
            }

            file.Buffered = 0;
            file.SkippingLongLine = true;
            return true;
        }

        TailLog.LongLineStopped(_logger, _context.Name, file.LogicalPath, _options.BufferMaxSize, lineOffset);
        file.State = TailFileState.Stopped;
        return false;
    }

    /// <summary>
    /// Turns the buffer's complete lines into records, stopping after the line that fills the chunk
    /// (<see cref="_chunkThreshold"/>); the lines after it stay buffered for the next call. Returns lines processed.
    /// </summary>
    private int SplitLines(TailFile file, DateTimeOffset now)
    {
        var data = file.Buffer[..file.Buffered];
        var baseOffset = file.ReadOffset - file.Buffered;
        var start = 0;
        var lines = 0;

        // NULs at the head of the data appear after copytruncate when the writer does not use O_APPEND.
        while (start < data.Length && data[start] == 0)
        {
            start++;
        }

        while (true)
        {
            var newline = data[start..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                break;
            }

            var line = data.Slice(start, newline);
            var lineOffset = baseOffset + start;
            start += newline + 1;
            if (file.SkippingLongLine)
            {
                file.SkippingLongLine = false;
                continue;
            }

            if (_options.SkipEmptyLines && (line.Length == 0 || (line.Length == 1 && line[0] == '\r')))
            {
                continue; // LF or CR LF alone
            }

            if (line.Length >= 2 && line[^1] == '\r')
            {
                line = line[..^1];
            }

            file.Processor.ProcessLine(line, lineOffset, file.Events, now);
            lines++;
            if (file.Events.ByteCount >= _chunkThreshold)
            {
                break;
            }
        }

        if (file.SkippingLongLine)
        {
            // Still inside the long line: nothing of it is kept.
            start = data.Length;
        }

        file.Consume(start);
        return lines;
    }

    private async ValueTask EmitAsync(TailFile file, CancellationToken cancellationToken)
    {
        var safeOffset = file.SafeOffset;
        if (file.Events.EventCount > 0)
        {
            var count = file.Events.EventCount;
            var events = file.Events.TakeEvents(out var pooled);
            var chunk = new EventChunk(file.Tag, events, count, _context.NodeName);
            var token = _tracker.Register(file.Identity, file.LogicalPath, safeOffset, events.Length);
            file.LastRegisteredOffset = safeOffset;
            Stats.OnChunk(chunk);
            await _chunks.Writer.WriteAsync(new InputChunk<TailCommitToken>(chunk, token, _acknowledgement, pooled), cancellationToken).ConfigureAwait(false);
        }
        else if (safeOffset != file.LastRegisteredOffset)
        {
            _tracker.Advance(file.Identity, file.LogicalPath, safeOffset);
            file.LastRegisteredOffset = safeOffset;
        }
    }

    private bool MemoryLimitReached()
    {
        if (_options.MemBufLimit <= 0)
        {
            return false;
        }

        var unacked = _tracker.UnackedBytes;
        if (unacked >= _options.MemBufLimit)
        {
            if (!_paused)
            {
                Volatile.Write(ref _paused, true);
                Stats.OnPause();
                TailLog.Paused(_logger, _context.Name, unacked, _options.MemBufLimit);
            }

            return true;
        }

        if (_paused)
        {
            Volatile.Write(ref _paused, false);
            TailLog.Resumed(_logger, _context.Name, unacked);
        }

        return false;
    }

    /// <summary>An acknowledged chunk lets its file's offset be committed and counts as delivered.</summary>
    private sealed class ChunkAcknowledgement(TailCommitTracker tracker, TailInputStats stats) : IInputChunkAcknowledgement<TailCommitToken>
    {
        public void OnAcknowledged(TailCommitToken token, EventChunk chunk)
        {
            tracker.Acknowledge(token);
            stats.OnAcknowledged(chunk);
        }
    }
}
