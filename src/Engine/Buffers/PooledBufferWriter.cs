using System.Buffers;

namespace Gateway.Engine.Buffers;

/// <summary>
/// A growable <see cref="IBufferWriter{T}"/> over <see cref="ChunkBufferPool"/> arrays. Hot paths keep one per
/// worker (or per thread) and <see cref="Reset"/> it per record or chunk, so writing allocates nothing once the
/// buffer has grown to the working size. The array is rented on first write, so a writer that ends up unused
/// (e.g. a filter that leaves a chunk alone) costs no buffer.
/// </summary>
internal sealed class PooledBufferWriter : IRewindableBufferWriter, IDisposable
{
    private readonly int _initialCapacity;
    private byte[] _buffer = [];
    private int _written;
    private bool _disposed;

    public PooledBufferWriter(int initialCapacity = 512)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(initialCapacity);
        _initialCapacity = initialCapacity;
    }

    public int WrittenCount => _written;

    /// <summary>Length of the current array (0 before the first write); writes beyond it grow (and copy) the buffer.</summary>
    public int Capacity => _buffer.Length;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.AsMemory(0, _written);

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _written);

    /// <summary>
    /// The written bytes, writable: encoders that learn a map size or a time only after writing the fields patch
    /// the header in place instead of buffering the record twice.
    /// </summary>
    public Span<byte> WrittenSpanForPatching => _buffer.AsSpan(0, _written);

    public void Reset() => _written = 0;

    /// <summary>Forgets everything after <paramref name="length"/> bytes (e.g. a record that turned out bad).</summary>
    public void Truncate(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, _written);
        _written = length;
    }

    /// <summary>Drops the first <paramref name="count"/> bytes, keeping the rest at the front.</summary>
    public void RemovePrefix(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _written);
        _buffer.AsSpan(count, _written - count).CopyTo(_buffer);
        _written -= count;
    }

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_written + count > _buffer.Length)
        {
            throw new InvalidOperationException("Advanced past the end of the buffer.");
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(GetSpan(bytes.Length));
        _written += bytes.Length;
    }

    /// <summary>
    /// Hands the array (written bytes at the start) to the caller, who returns it to <see cref="ChunkBufferPool"/>;
    /// this is how filtered chunk bytes reach the buffer without another copy. The writer starts over empty.
    /// </summary>
    public byte[] Detach()
    {
        var array = _buffer;
        _buffer = [];
        _written = 0;
        return array;
    }

    public void Dispose()
    {
        _disposed = true;
        var buffer = _buffer;
        _buffer = [];
        _written = 0;
        if (buffer.Length > 0)
        {
            ChunkBufferPool.Shared.Return(buffer);
        }
    }

    private void Ensure(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var needed = (long)_written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var newSize = Math.Max(Math.Max(_buffer.Length * 2L, _initialCapacity), needed);
        if (newSize > Array.MaxLength)
        {
            newSize = Math.Max(needed, Array.MaxLength);
        }

        var next = ChunkBufferPool.Shared.Rent((int)newSize);
        _buffer.AsSpan(0, _written).CopyTo(next);
        if (_buffer.Length > 0)
        {
            ChunkBufferPool.Shared.Return(_buffer);
        }

        _buffer = next;
    }
}
