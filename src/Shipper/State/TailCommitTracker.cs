namespace Gateway.Shipper.State;

/// <summary>
/// Says which bytes of which file a chunk covers: once the chunk is acknowledged, the file's committed offset may
/// move to <see cref="EndOffset"/> (after every earlier chunk of the same file was acknowledged too).
/// </summary>
public readonly record struct TailCommitToken(FileIdentity File, long EndOffset, long Sequence);

/// <summary>
/// Moves file offsets only when the consumer acknowledged. Chunks of one file are committed in production order:
/// an acknowledgement that arrives early is remembered and the committed offset advances once the gap closes, so
/// the stored offset never passes a byte whose records were not delivered. It also counts unacknowledged bytes,
/// which is what <c>Mem_Buf_Limit</c> bounds.
/// </summary>
internal sealed class TailCommitTracker
{
    private readonly object _gate = new();
    private readonly Dictionary<FileIdentity, FileProgress> _files = new();
    private readonly Dictionary<long, PendingCommit> _pending = new();
    private readonly TailOffsetStore? _store;
    private long _nextSequence;
    private long _unackedBytes;
    private TaskCompletionSource _released = NewSignal();

    public TailCommitTracker(TailOffsetStore? store)
    {
        _store = store;
    }

    /// <summary>Raised (outside the lock) after each acknowledgement, e.g. to wake a reader paused on Mem_Buf_Limit.</summary>
    public event Action? Acknowledged;

    /// <summary>Bytes of chunks handed out and not yet acknowledged.</summary>
    public long UnackedBytes => Interlocked.Read(ref _unackedBytes);

    public int PendingChunks
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Registers a produced chunk; the token commits <paramref name="endOffset"/> when acknowledged.</summary>
    public TailCommitToken Register(FileIdentity file, string name, long endOffset, int chunkBytes)
    {
        lock (_gate)
        {
            var progress = GetProgress(file, name);
            var sequence = ++_nextSequence;
            var pending = new PendingCommit(file, sequence, endOffset, chunkBytes);
            progress.InFlight.Enqueue(pending);
            _pending.Add(sequence, pending);
            _unackedBytes += chunkBytes;
            return new TailCommitToken(file, endOffset, sequence);
        }
    }

    /// <summary>
    /// Records progress that produced no events (skipped empty or long lines): it commits as soon as every chunk
    /// before it was acknowledged.
    /// </summary>
    public void Advance(FileIdentity file, string name, long endOffset)
    {
        lock (_gate)
        {
            var progress = GetProgress(file, name);
            if (progress.InFlight.Count == 0)
            {
                Commit(file, progress, endOffset);
                return;
            }

            var pending = new PendingCommit(file, ++_nextSequence, endOffset, 0) { Acknowledged = true };
            progress.InFlight.Enqueue(pending);
        }
    }

    /// <summary>Acknowledges a chunk. Idempotent; unknown tokens (already committed) are ignored.</summary>
    public void Acknowledge(TailCommitToken token)
    {
        TaskCompletionSource? toSignal = null;
        lock (_gate)
        {
            if (!_pending.Remove(token.Sequence, out var pending))
            {
                return;
            }

            pending.Acknowledged = true;
            _unackedBytes -= pending.Bytes;
            if (_files.TryGetValue(token.File, out var progress))
            {
                long? committed = null;
                while (progress.InFlight.TryPeek(out var head) && head.Acknowledged)
                {
                    progress.InFlight.Dequeue();
                    committed = head.EndOffset;
                }

                if (committed is { } offset)
                {
                    Commit(token.File, progress, offset);
                }
            }

            toSignal = _released;
            _released = NewSignal();
        }

        toSignal.TrySetResult();
        Acknowledged?.Invoke();
    }

    /// <summary>
    /// The file is gone for good (rotated away or deleted, and drained): its DB entry is removed once every chunk
    /// from it was acknowledged, as Fluent Bit deletes rotated files' rows.
    /// </summary>
    public void Release(FileIdentity file)
    {
        lock (_gate)
        {
            if (!_files.TryGetValue(file, out var progress))
            {
                _store?.Remove(file);
                return;
            }

            progress.Released = true;
            if (progress.InFlight.Count == 0)
            {
                _files.Remove(file);
                _store?.Remove(file);
            }
        }
    }

    /// <summary>Files with commit state in memory (for diagnostics and tests).</summary>
    public List<FileIdentity> KnownFiles()
    {
        lock (_gate)
        {
            return new List<FileIdentity>(_files.Keys);
        }
    }

    public long? CommittedOffset(FileIdentity file)
    {
        lock (_gate)
        {
            if (_files.TryGetValue(file, out var p) && p.Committed >= 0)
            {
                return p.Committed;
            }
        }

        return _store is not null && _store.TryGet(file, out var e) ? e.Offset : null;
    }

    /// <summary>Completes when some acknowledgement arrived after the call (used to resume a paused reader).</summary>
    public Task WaitForAcknowledgementAsync(CancellationToken cancellationToken)
    {
        Task task;
        lock (_gate)
        {
            task = _released.Task;
        }

        return task.WaitAsync(cancellationToken);
    }

    private FileProgress GetProgress(FileIdentity file, string name)
    {
        if (!_files.TryGetValue(file, out var progress))
        {
            progress = new FileProgress(name);
            _files.Add(file, progress);
        }

        progress.Name = name;
        return progress;
    }

    private void Commit(FileIdentity file, FileProgress progress, long offset)
    {
        progress.Committed = offset;
        if (progress.Released)
        {
            if (progress.InFlight.Count == 0)
            {
                _files.Remove(file);
                _store?.Remove(file);
            }

            return;
        }

        _store?.Set(file, offset, progress.Name);
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class FileProgress
    {
        public FileProgress(string name)
        {
            Name = name;
        }

        public string Name { get; set; }

        public Queue<PendingCommit> InFlight { get; } = new();

        public long Committed { get; set; } = -1;

        public bool Released { get; set; }
    }

    private sealed class PendingCommit
    {
        public PendingCommit(FileIdentity file, long sequence, long endOffset, int bytes)
        {
            File = file;
            Sequence = sequence;
            EndOffset = endOffset;
            Bytes = bytes;
        }

        public FileIdentity File { get; }

        public long Sequence { get; }

        public long EndOffset { get; }

        public int Bytes { get; }

        public bool Acknowledged { get; set; }
    }
}
