using Microsoft.Win32.SafeHandles;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>
/// A sealed part file read as S3 receives it: the frames' payloads back to back, headers skipped. Seekable, so
/// the SDK can hash the body for the signature and rewind on a retry, without the part ever being held in memory.
/// </summary>
internal sealed class S3PartPayloadStream : ReadOnlyPayloadStream
{
    private readonly SafeFileHandle _file;
    private readonly S3Frame[] _frames;
    private readonly long[] _payloadStarts;
    private readonly long _length;
    private long _position;

    public S3PartPayloadStream(S3StoredPart part)
    {
        _frames = [.. part.Frames];
        _payloadStarts = new long[_frames.Length];
        long total = 0;
        for (var i = 0; i < _frames.Length; i++)
        {
            _payloadStarts[i] = total;
            total += _frames[i].Length;
        }

        _length = total;
        _file = File.OpenHandle(part.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
    }

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(Span<byte> buffer)
    {
        if (_position >= _length || buffer.IsEmpty)
        {
            return 0;
        }

        // The frame holding the position: the last whose payload starts at or before it.
        var index = Array.BinarySearch(_payloadStarts, _position);
        if (index < 0)
        {
            index = ~index - 1;
        }

        var frame = _frames[index];
        var within = _position - _payloadStarts[index];
        var count = (int)Math.Min(buffer.Length, frame.Length - within);
        var read = RandomAccess.Read(_file, buffer[..count], frame.FileOffset + within);
        if (read <= 0)
        {
            throw new IOException("part file ended before its recorded frames");
        }

        _position += read;
        return read;
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return _position;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }
}
