using System.Buffers;

namespace Gateway.Aggregator.Inputs.Forward;

/// <summary>
/// Holds the unfinished tail of a connection's input (a message split across reads) outside the transport pipe,
/// so the pipe can always be drained: Kestrel pauses socket reads once ~1 MB sits unconsumed in a pipe, which
/// would deadlock on a Buffer_Max_Size message. The decoder refuses a frame the moment it cannot fit in
/// Buffer_Max_Size, so this buffer never holds more than that plus one read. Pooled; released when drained.
/// </summary>
internal sealed class ForwardReceiveBuffer : IDisposable
{
    /// <summary>Above this an emptied buffer goes back to the pool instead of staying with an idle connection.</summary>
    private const int RetainedCapacity = 64 * 1024;

    private byte[] _buffer = [];
    private int _length;

    public bool IsEmpty => _length == 0;

    public int Length => _length;

    public ReadOnlySequence<byte> Sequence => new(_buffer, 0, _length);

    public void Append(in ReadOnlySequence<byte> data)
    {
        var needed = checked(_length + (int)data.Length);
        if (needed > _buffer.Length)
        {
            var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Min(Array.MaxLength, _buffer.Length * 2)));
            _buffer.AsSpan(0, _length).CopyTo(bigger);
            Release();
            _buffer = bigger;
        }

        data.CopyTo(_buffer.AsSpan(_length));
        _length = needed;
    }

    /// <summary>Drops the first <paramref name="count"/> bytes (whole messages) and keeps the rest at the front.</summary>
    public void Consume(long count)
    {
        var remaining = _length - (int)count;
        if (remaining > 0 && count > 0)
        {
            _buffer.AsSpan((int)count, remaining).CopyTo(_buffer);
        }

        _length = remaining;
        if (_length == 0 && _buffer.Length > RetainedCapacity)
        {
            Release();
        }
    }

    public void Dispose()
    {
        _length = 0;
        Release();
    }

    private void Release()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = [];
    }
}
