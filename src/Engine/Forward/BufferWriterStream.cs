using System.Buffers;

namespace Gateway.Engine.Forward;

/// <summary>A write-only <see cref="Stream"/> over an <see cref="IBufferWriter{T}"/>, so GZipStream can compress into pooled memory.</summary>
internal sealed class BufferWriterStream : Stream
{
    private readonly IBufferWriter<byte> _output;

    public BufferWriterStream(IBufferWriter<byte> output)
    {
        _output = output;
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer) => _output.Write(buffer);

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
