using System.Buffers;

namespace Gateway.Aggregator.Buffer;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> over <see cref="ArrayPool{T}.Shared"/> whose array can be handed on
/// (<see cref="Detach"/>) so filtered chunk bytes go into the buffer without another copy.
/// </summary>
internal sealed class PooledBufferWriter : IBufferWriter<byte>, IDisposable
{
    private readonly int _initialCapacity;
    private byte[] _array = [];
    private int _written;

    /// <summary>Rents nothing until first written to, so a filter that leaves a chunk alone costs no buffer.</summary>
    public PooledBufferWriter(int initialCapacity)
    {
        _initialCapacity = Math.Max(initialCapacity, 256);
    }

    public int WrittenCount => _written;

    public ReadOnlyMemory<byte> WrittenMemory => _array.AsMemory(0, _written);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (_written + count > _array.Length)
        {
            throw new InvalidOperationException("advanced past the buffer");
        }

        _written += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _array.AsSpan(_written);
    }

    public void Clear() => _written = 0;

    /// <summary>Gives the array (written bytes at the start) to the caller, who returns it to the pool.</summary>
    public byte[] Detach()
    {
        var array = _array;
        _array = [];
        _written = 0;
        return array;
    }

    public void Dispose()
    {
        if (_array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
            _array = [];
        }
    }

    private void Ensure(int sizeHint)
    {
        sizeHint = Math.Max(sizeHint, 1);
        if (_array.Length - _written >= sizeHint)
        {
            return;
        }

        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(Math.Max(_array.Length * 2, _initialCapacity), _written + sizeHint));
        _array.AsSpan(0, _written).CopyTo(grown);
        if (_array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_array);
        }

        _array = grown;
    }
}
