using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Gateway.Aggregator.Buffer;

/// <summary>A segment found at startup with its chunks (all down) and the (chunk, output) pairs already done.</summary>
internal sealed class ReplayedSegment
{
    public ReplayedSegment(Segment segment, List<BufferedChunk> chunks, HashSet<(long ChunkId, uint OutputKey)> done)
    {
        Segment = segment;
        Chunks = chunks;
        Done = done;
    }

    public Segment Segment { get; }

    public List<BufferedChunk> Chunks { get; }

    public HashSet<(long ChunkId, uint OutputKey)> Done { get; }
}

/// <summary>
/// The filesystem half of the buffer: append-only segment files written by one writer loop with group commit
/// (every append waiting at the time goes out in one vectored write and, for <c>storage.sync full</c>, one
/// fsync), read back for down chunks, scanned and repaired at startup, deleted once delivered.
/// </summary>
internal sealed class ChunkStore : IAsyncDisposable
{
    // One pwritev takes at most IOV_MAX (1024) buffers; each append is two (prefix + payload).
    private const int MaxBatchChunks = 500;
    private const long MaxBatchBytes = 8 * 1024 * 1024;
    private const int ScanBufferBytes = 1024 * 1024;
    private const string ChecksumMismatch = "checksum mismatch";

    private readonly string _directory;
    private readonly StorageSync _sync;
    private readonly bool _checksum;
    private readonly long _segmentBytes;
    private readonly ByteBudget? _diskBudget;
    private readonly ILogger _logger;
    private readonly BufferMetrics _metrics;
    private readonly Channel<PendingWrite> _writes;
    private readonly ConcurrentDictionary<long, Segment> _segments = new();
    private FileStream? _directoryLock;
    private Segment? _current;
    private long _nextSegmentNumber = 1;
    private long _nextSequence;
    private Task? _writer;

    public ChunkStore(BufferOptions options, BufferMetrics metrics, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options.StoragePath);
        _directory = Path.GetFullPath(options.StoragePath);
        _sync = options.Sync;
        _checksum = options.Checksum;
        _logger = logger;
        _metrics = metrics;
        _segmentBytes = options.SegmentBytes;
        if (options.TotalLimitBytes is { } cap)
        {
            _diskBudget = new ByteBudget("disk", cap);

            // Sealed segments are what gets deleted to free disk; a quarter of the cap per segment keeps the
            // unsealed one from holding the budget hostage.
            _segmentBytes = Math.Min(_segmentBytes, Math.Max(64 * 1024, cap / 4));
        }

        _writes = Channel.CreateUnbounded<PendingWrite>(new UnboundedChannelOptions { SingleReader = true });
    }

    public string Directory => _directory;

    public long DiskBytes
    {
        get
        {
            long total = 0;
            foreach (var s in _segments.Values)
            {
                total += s.DiskBytes;
            }

            return total;
        }
    }

    public ByteBudget? DiskBudget => _diskBudget;

    /// <summary>
    /// Scans the directory: validates every frame, truncates a torn or corrupt tail with a warning, reads the
    /// journals, and starts the writer. Returns the segments in write order for replay.
    /// </summary>
    public List<ReplayedSegment> Open()
    {
        System.IO.Directory.CreateDirectory(_directory);
        LockDirectory();
        var numbers = new List<long>();
        foreach (var file in System.IO.Directory.EnumerateFiles(_directory, SegmentFormat.SegmentPrefix + "*" + SegmentFormat.SegmentExtension))
        {
            if (SegmentFormat.TryParseSegmentNumber(Path.GetFileName(file), out var n))
            {
                numbers.Add(n);
            }
        }

        numbers.Sort();
        BufferLog.StorageOpened(_logger, _directory, _sync, _checksum, numbers.Count);
        var replayed = new List<ReplayedSegment>(numbers.Count);
        foreach (var number in numbers)
        {
            _nextSegmentNumber = Math.Max(_nextSegmentNumber, number + 1);
            try
            {
                replayed.Add(ScanSegment(number));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                BufferLog.SegmentUnreadable(_logger, ex, SegmentFormat.SegmentFileName(number));
            }
        }

        _writer = Task.Run(WriteLoopAsync);
        return replayed;
    }

    /// <summary>
    /// Appends the chunk's frame and completes once it is written per <c>storage.sync</c>; sets the chunk's id,
    /// segment and offset. Waits first while the disk cap is reached. Returns true when it had to wait.
    /// </summary>
    public async ValueTask<bool> WriteAsync(BufferedChunk chunk, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var prefixLength = SegmentFormat.PrefixLength(chunk.Tag, chunk.NodeName);
        long frameLength = prefixLength + (long)payload.Length;
        if (frameLength > SegmentFormat.MaxFrameBytes)
        {
            throw new ArgumentException($"chunk of {payload.Length} bytes is larger than a segment frame may be");
        }

        var waited = false;
        if (_diskBudget is not null)
        {
            waited = await _diskBudget.ReserveAsync(frameLength, cancellationToken).ConfigureAwait(false);
        }

        var pending = new PendingWrite(chunk, payload, prefixLength);
        if (!_writes.Writer.TryWrite(pending))
        {
            _diskBudget?.Release(frameLength);
            throw new ObjectDisposedException(nameof(ChunkStore), "the buffer is shut down");
        }

        await pending.Completion.Task.ConfigureAwait(false);
        return waited;
    }

    /// <summary>Reads a down chunk's payload back from its segment.</summary>
    public void ReadPayload(BufferedChunk chunk, Span<byte> destination)
    {
        var segment = chunk.Segment ?? throw new InvalidOperationException("memory chunk has no segment");
        var offset = chunk.PayloadOffset;
        var span = destination[..chunk.Length];
        while (span.Length > 0)
        {
            var n = RandomAccess.Read(segment.Data, span, offset);
            if (n <= 0)
            {
                throw new IOException($"{segment}: unexpected end of file reading chunk {chunk.Id} at {offset}");
            }

            span = span[n..];
            offset += n;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        if (_writer is not null)
        {
            await _writer.ConfigureAwait(false);
        }

        foreach (var segment in _segments.Values)
        {
            segment.Close();
        }

        _segments.Clear();
        if (_directoryLock is not null)
        {
            await _directoryLock.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Two processes appending to one storage directory would interleave frames and delete each other's
    /// segments; an exclusive lock file makes the second one fail at startup instead. The OS drops the lock when
    /// the holder dies, so a killed process never blocks its replacement.
    /// </summary>
    private void LockDirectory()
    {
        var path = Path.Combine(_directory, "storage.lock");
        try
        {
            _directoryLock = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"storage.path {_directory} is in use by another process (could not lock {path})", ex);
        }
    }

    private async Task WriteLoopAsync()
    {
        var batch = new List<PendingWrite>(MaxBatchChunks);
        var buffers = new List<ReadOnlyMemory<byte>>(MaxBatchChunks * 2);
        var reader = _writes.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            long batchBytes = 0;
            while (batch.Count < MaxBatchChunks && batchBytes < MaxBatchBytes && reader.TryRead(out var next))
            {
                batch.Add(next);
                batchBytes += next.FrameLength;
            }

            WriteBatch(batch, buffers);
            batch.Clear();
            buffers.Clear();
        }
    }

    private void WriteBatch(List<PendingWrite> batch, List<ReadOnlyMemory<byte>> buffers)
    {
        var prefixBytes = 0;
        long reserved = 0;
        foreach (var w in batch)
        {
            prefixBytes += w.PrefixLength;
            reserved += w.FrameLength;
        }

        var prefixes = ArrayPool<byte>.Shared.Rent(prefixBytes);
        Segment? segment = null;
        try
        {
            segment = _current ??= CreateSegment();
            var offset = segment.Length;
            var prefixOffset = 0;
            foreach (var w in batch)
            {
                var id = (segment.Number << 32) | _nextSequence++;
                var prefix = prefixes.AsMemory(prefixOffset, w.PrefixLength);
                SegmentFormat.WritePrefix(prefix.Span, id, w.Chunk.Tag, w.Chunk.NodeName, w.Chunk.EventCount, w.Payload.Span, _checksum);
                buffers.Add(prefix);
                buffers.Add(w.Payload);
                w.Chunk.Id = id;
                w.Chunk.Segment = segment;
                w.Chunk.PayloadOffset = offset + w.PrefixLength;
                offset += w.FrameLength;
                prefixOffset += w.PrefixLength;
            }

            RandomAccess.Write(segment.Data, buffers, segment.Length);
            if (_sync == StorageSync.Full)
            {
                RandomAccess.FlushToDisk(segment.Data);
            }

            segment.Length = offset;
            segment.ReservedBytes += reserved;
            segment.AddPendingChunks(batch.Count);
        }
        catch (Exception ex)
        {
            BufferLog.WriteFailed(_logger, ex, batch.Count, segment?.ToString() ?? _directory);
            _diskBudget?.Release(reserved);
            if (segment is not null)
            {
                // Cut whatever part of the batch reached the file, and start a fresh segment for what follows.
                TryTruncate(segment, segment.Length);
                segment.Seal();
                _current = null;
            }

            foreach (var w in batch)
            {
                w.Chunk.Segment = null;
                w.Completion.TrySetException(new IOException("the buffer could not store the chunk", ex));
            }

            return;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(prefixes);
        }

        foreach (var w in batch)
        {
            w.Completion.TrySetResult();
        }

        if (segment.Length >= _segmentBytes)
        {
            _current = null;
            segment.Seal();
        }
    }

    private Segment CreateSegment()
    {
        var number = _nextSegmentNumber++;
        _nextSequence = 0;
        var path = Path.Combine(_directory, SegmentFormat.SegmentFileName(number));
        var journalPath = Path.Combine(_directory, SegmentFormat.JournalFileName(number));
        var data = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        var journal = File.OpenHandle(journalPath, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        var segment = new Segment(number, path, journalPath, data, journal, 0, 0, OnSegmentDrained);
        _segments[number] = segment;
        return segment;
    }

    private ReplayedSegment ScanSegment(long number)
    {
        var path = Path.Combine(_directory, SegmentFormat.SegmentFileName(number));
        var journalPath = Path.Combine(_directory, SegmentFormat.JournalFileName(number));
        var data = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        var journal = File.OpenHandle(journalPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete);
        var chunks = new List<BufferedChunk>();
        var fileLength = RandomAccess.GetLength(data);
        long offset = 0;
        var header = new byte[SegmentFormat.HeaderSize];
        var scratch = ArrayPool<byte>.Shared.Rent(ScanBufferBytes);
        string? problem = null;
        try
        {
            while (offset < fileLength)
            {
                problem = ReadFrame(data, offset, fileLength, header, scratch, out var chunk, out var frameLength);
                if (problem == ChecksumMismatch && offset + frameLength < fileLength)
                {
                    // Framing is intact and more frames follow: this is corruption inside one chunk, not a torn
                    // tail. Skip just that chunk so the good ones after it are still delivered.
                    BufferLog.CorruptFrameSkipped(_logger, Path.GetFileName(path), offset, frameLength);
                    _metrics.TornRecordTruncated();
                    offset += frameLength;
                    problem = null;
                    continue;
                }

                if (problem is not null)
                {
                    break;
                }

                chunks.Add(chunk!);
                offset += frameLength;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }

        if (problem is not null)
        {
            BufferLog.SegmentTruncated(_logger, Path.GetFileName(path), problem, offset, fileLength - offset);
            _metrics.TornRecordTruncated();
            RandomAccess.SetLength(data, offset);
        }

        var done = ReadJournal(journal, journalPath, out var journalLength);
        var segment = new Segment(number, path, journalPath, data, journal, offset, journalLength, OnSegmentDrained);
        segment.ReservedBytes = offset;
        _diskBudget?.ForceReserve(offset);
        _segments[number] = segment;
        foreach (var c in chunks)
        {
            c.Segment = segment;
        }

        segment.AddPendingChunks(chunks.Count);
        return new ReplayedSegment(segment, chunks, done);
    }

    /// <summary>Validates one frame; returns why it is bad, or null with the chunk (down) when it is good.</summary>
    private string? ReadFrame(
        SafeFileHandle data, long offset, long fileLength, byte[] header, byte[] scratch, out BufferedChunk? chunk, out long frameLength)
    {
        chunk = null;
        frameLength = 0;
        if (fileLength - offset < SegmentFormat.HeaderSize)
        {
            return "incomplete frame header";
        }

        ReadExactly(data, header, offset);
        if (BinaryPrimitives.ReadUInt32LittleEndian(header) != SegmentFormat.Magic)
        {
            return "bad frame magic";
        }

        frameLength = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(4));
        var storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(8));
        var flags = header[12];
        var tagLength = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(14));
        var nodeLength = BinaryPrimitives.ReadUInt16LittleEndian(header.AsSpan(16));
        var eventCount = BinaryPrimitives.ReadInt32LittleEndian(header.AsSpan(20));
        var id = BinaryPrimitives.ReadInt64LittleEndian(header.AsSpan(24));
        var prefixLength = SegmentFormat.HeaderSize + tagLength + nodeLength;
        if (header[13] != SegmentFormat.Version || frameLength < prefixLength || frameLength > SegmentFormat.MaxFrameBytes || eventCount < 0)
        {
            return "bad frame header";
        }

        if (offset + frameLength > fileLength)
        {
            return "frame runs past the end of the file";
        }

        var names = new byte[tagLength + nodeLength];
        ReadExactly(data, names, offset + SegmentFormat.HeaderSize);
        if ((flags & SegmentFormat.FlagChecksum) != 0)
        {
            var crc = Crc32C.Append(0xFFFFFFFFu, header.AsSpan(12));
            crc = Crc32C.Append(crc, names);
            var position = offset + prefixLength;
            var remaining = frameLength - prefixLength;
            while (remaining > 0)
            {
                var n = (int)Math.Min(remaining, scratch.Length);
                ReadExactly(data, scratch.AsSpan(0, n), position);
                crc = Crc32C.Append(crc, scratch.AsSpan(0, n));
                position += n;
                remaining -= n;
            }

            if (~crc != storedCrc)
            {
                return ChecksumMismatch;
            }
        }

        var tag = Encoding.UTF8.GetString(names, 0, tagLength);
        var node = nodeLength == 0 ? null : Encoding.UTF8.GetString(names, tagLength, nodeLength);
        chunk = new BufferedChunk(id, tag, node, eventCount, (int)(frameLength - prefixLength))
        {
            PayloadOffset = offset + prefixLength,
        };
        return null;
    }

    private HashSet<(long, uint)> ReadJournal(SafeFileHandle journal, string journalPath, out long goodLength)
    {
        var done = new HashSet<(long, uint)>();
        var length = RandomAccess.GetLength(journal);
        var bytes = new byte[length];
        ReadExactly(journal, bytes, 0);
        goodLength = 0;
        while (goodLength + SegmentFormat.JournalEntrySize <= length
            && SegmentFormat.TryReadJournalEntry(bytes.AsSpan((int)goodLength, SegmentFormat.JournalEntrySize), out var id, out var key))
        {
            done.Add((id, key));
            goodLength += SegmentFormat.JournalEntrySize;
        }

        if (goodLength != length)
        {
            BufferLog.JournalTruncated(_logger, Path.GetFileName(journalPath), goodLength, length - goodLength);
            _metrics.TornRecordTruncated();
            RandomAccess.SetLength(journal, goodLength);
        }

        return done;
    }

    private static void ReadExactly(SafeFileHandle handle, Span<byte> destination, long offset)
    {
        while (destination.Length > 0)
        {
            var n = RandomAccess.Read(handle, destination, offset);
            if (n <= 0)
            {
                throw new EndOfStreamException();
            }

            destination = destination[n..];
            offset += n;
        }
    }

    private void TryTruncate(Segment segment, long length)
    {
        try
        {
            RandomAccess.SetLength(segment.Data, length);
        }
        catch (IOException)
        {
            // The next startup's scan cuts the partial frame anyway.
        }
    }

    private void OnSegmentDrained(Segment segment)
    {
        _segments.TryRemove(segment.Number, out _);
        _diskBudget?.Release(segment.ReservedBytes);
        try
        {
            segment.Data.Dispose();
            segment.Journal.Dispose();
            File.Delete(segment.Path);
            File.Delete(segment.JournalPath);
            BufferLog.SegmentDeleted(_logger, segment.ToString());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            BufferLog.SegmentDeleteFailed(_logger, ex, segment.ToString());
        }
    }

    private sealed class PendingWrite
    {
        public PendingWrite(BufferedChunk chunk, ReadOnlyMemory<byte> payload, int prefixLength)
        {
            Chunk = chunk;
            Payload = payload;
            PrefixLength = prefixLength;
        }

        public BufferedChunk Chunk { get; }

        public ReadOnlyMemory<byte> Payload { get; }

        public int PrefixLength { get; }

        public long FrameLength => PrefixLength + (long)Payload.Length;

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
