using System.Buffers;
using Gateway.Shipper.State;
using Microsoft.Win32.SafeHandles;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>Where a followed file is in its life.</summary>
internal enum TailFileState
{
    /// <summary>The configured path still names this file.</summary>
    Active,

    /// <summary>Renamed away (rotation); drained until <c>Rotate_Wait</c> passed, then released.</summary>
    Rotated,

    /// <summary>Unlinked while open; drained through the open handle, then released.</summary>
    Deleted,

    /// <summary>Not read any more (a line longer than Buffer_Max_Size with Skip_Long_Lines Off, as Fluent Bit).</summary>
    Stopped,
}

/// <summary>
/// One file being followed: its open handle (kept across rename and unlink), read position, the unprocessed tail
/// of the last read (a partial line) in a pooled buffer, and its per-file record state.
/// </summary>
internal sealed class TailFile : IDisposable
{
    private byte[] _buffer;

    public TailFile(
        string logicalPath,
        string physicalPath,
        SafeFileHandle handle,
        FileIdentity identity,
        string tag,
        long startOffset,
        int chunkSize,
        TailLineProcessor processor,
        TailEventBuffer events)
    {
        LogicalPath = logicalPath;
        PhysicalPath = physicalPath;
        Handle = handle;
        Identity = identity;
        Tag = tag;
        ReadOffset = startOffset;
        LastRegisteredOffset = startOffset;
        Processor = processor;
        Events = events;
        _buffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        Capacity = chunkSize;
    }

    /// <summary>The configured-namespace path the file was found at (used for the tag and Path_Key).</summary>
    public string LogicalPath { get; }

    public string PhysicalPath { get; }

    public SafeFileHandle Handle { get; }

    public FileIdentity Identity { get; }

    public string Tag { get; }

    public TailLineProcessor Processor { get; }

    public TailEventBuffer Events { get; }

    /// <summary>File offset of the next byte to read.</summary>
    public long ReadOffset { get; set; }

    /// <summary>Bytes read but not yet split into lines (they end <see cref="ReadOffset"/>).</summary>
    public int Buffered { get; set; }

    /// <summary>Usable buffer size: starts at Buffer_Chunk_Size, grows to Buffer_Max_Size for long lines.</summary>
    public int Capacity { get; private set; }

    public Span<byte> Buffer => _buffer.AsSpan(0, Capacity);

    /// <summary>Dropping the rest of a too-long line until its newline (Skip_Long_Lines On).</summary>
    public bool SkippingLongLine { get; set; }

    public TailFileState State { get; set; }

    /// <summary>The last read found no more data.</summary>
    public bool Drained { get; set; }

    /// <summary>When the file was seen rotated or deleted.</summary>
    public DateTimeOffset GoneSince { get; set; }

    /// <summary>The last offset handed to the commit tracker (with a chunk or as a plain advance).</summary>
    public long LastRegisteredOffset { get; set; }

    /// <summary>
    /// The offset that may be committed once everything produced so far is acknowledged: the first byte not yet
    /// turned into a record, i.e. the start of a held multiline group or of the unfinished last line.
    /// </summary>
    public long SafeOffset
    {
        get
        {
            var unread = ReadOffset - Buffered;
            return Processor.PendingStartOffset is { } pending && pending < unread ? pending : unread;
        }
    }

    public void Grow(int newCapacity)
    {
        if (newCapacity <= _buffer.Length)
        {
            Capacity = newCapacity;
            return;
        }

        var grown = ArrayPool<byte>.Shared.Rent(newCapacity);
        _buffer.AsSpan(0, Buffered).CopyTo(grown);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = grown;
        Capacity = newCapacity;
    }

    /// <summary>Moves the unprocessed bytes from <paramref name="consumed"/> to the front of the buffer.</summary>
    public void Consume(int consumed)
    {
        if (consumed <= 0)
        {
            return;
        }

        var remaining = Buffered - consumed;
        if (remaining > 0)
        {
            _buffer.AsSpan(consumed, remaining).CopyTo(_buffer);
        }

        Buffered = remaining;
    }

    public void Dispose()
    {
        Handle.Dispose();
        Processor.Dispose();
        Events.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
