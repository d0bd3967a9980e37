namespace Gateway.Aggregator.Outputs;

/// <summary>
/// A request payload produced on demand and read by an HTTP client (signed, sent, resent): readable, seekable for
/// the rewinds, never written. Subclasses supply <see cref="Stream.Length"/>, <see cref="Stream.Position"/>,
/// <see cref="Stream.Seek"/> and the span read; reads are synchronous (the bytes are in memory or a page-cached file).
/// </summary>
internal abstract class ReadOnlyPayloadStream : Stream
{
    public sealed override bool CanRead => true;

    public sealed override bool CanSeek => true;

    public sealed override bool CanWrite => false;

    public abstract override int Read(Span<byte> buffer);

    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public sealed override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Read(buffer.Span));

    public sealed override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Task.FromResult(Read(buffer.AsSpan(offset, count)));

    public sealed override void Flush()
    {
    }

    public sealed override void SetLength(long value) => throw new NotSupportedException();

    public sealed override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
