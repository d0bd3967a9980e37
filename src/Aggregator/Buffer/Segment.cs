using Microsoft.Win32.SafeHandles;

namespace Gateway.Aggregator.Buffer;

/// <summary>
/// One append-only segment file plus its completion journal. Only the store's writer appends frames; outputs
/// append journal entries. The segment is deleted once it is sealed (no more appends) and every chunk in it is
/// finished for every output it was routed to.
/// </summary>
internal sealed class Segment
{
    private readonly object _lock = new();
    private readonly Action<Segment> _onDrained;
    private long _journalLength;
    private int _pendingChunks;
    private bool _sealed;
    /// <summary>Drained (being deleted) or closed at shutdown: no more journal writes.</summary>
    private bool _retired;

    public Segment(long number, string path, string journalPath, SafeFileHandle data, SafeFileHandle journal, long length, long journalLength, Action<Segment> onDrained)
    {
        Number = number;
        Path = path;
        JournalPath = journalPath;
        Data = data;
        Journal = journal;
        Length = length;
        _journalLength = journalLength;
        _onDrained = onDrained;
    }

    public long Number { get; }

    public string Path { get; }

    public string JournalPath { get; }

    public SafeFileHandle Data { get; }

    public SafeFileHandle Journal { get; }

    /// <summary>Bytes of frames written; advanced only by the store's writer.</summary>
    public long Length { get; internal set; }

    /// <summary>Disk budget held by this segment's frames, given back when it is deleted.</summary>
    public long ReservedBytes { get; internal set; }

    public long JournalLength => Volatile.Read(ref _journalLength);

    public long DiskBytes => Length + JournalLength;

    /// <summary>Counts chunks that must finish before the segment can go; called before they are queued.</summary>
    public void AddPendingChunks(int count)
    {
        lock (_lock)
        {
            _pendingChunks += count;
        }
    }

    /// <summary>
    /// Records that an output finished a chunk, so a restart does not deliver it again. The entry reaches the OS
    /// before this returns (survives kill -9); it is not fsync'd: after a power loss the chunk may be delivered
    /// twice, which at-least-once allows.
    /// </summary>
    public void RecordDone(long chunkId, uint outputKey)
    {
        Span<byte> entry = stackalloc byte[SegmentFormat.JournalEntrySize];
        SegmentFormat.WriteJournalEntry(entry, chunkId, outputKey);
        lock (_lock)
        {
            if (_retired)
            {
                return;
            }

            RandomAccess.Write(Journal, entry, _journalLength);
            _journalLength += entry.Length;
        }
    }

    public void ChunkFinished()
    {
        bool drained;
        lock (_lock)
        {
            _pendingChunks--;
            drained = _sealed && _pendingChunks == 0 && !_retired;
            if (drained)
            {
                _retired = true;
            }
        }

        if (drained)
        {
            _onDrained(this);
        }
    }

    /// <summary>No more frames will be appended; deletes at once when nothing is pending.</summary>
    public void Seal()
    {
        bool drained;
        lock (_lock)
        {
            _sealed = true;
            drained = _pendingChunks == 0 && !_retired;
            if (drained)
            {
                _retired = true;
            }
        }

        if (drained)
        {
            _onDrained(this);
        }
    }

    /// <summary>Closes the handles without deleting (store shutdown; the files are replayed next start).</summary>
    public void Close()
    {
        lock (_lock)
        {
            _retired = true;
            Data.Dispose();
            Journal.Dispose();
        }
    }

    public override string ToString() => System.IO.Path.GetFileName(Path);
}
