using System.Buffers;
using System.Net;
using System.Security.Cryptography;

namespace Gateway.Engine.Aws;

/// <summary>
/// A request body produced on demand rather than held as one buffer: a small JSON head, a seekable
/// <see cref="Stream"/> that writes the large part (e.g. PutLogEvents' <c>logEvents</c> array from the records
/// the output already holds) and a small tail. SigV4 needs the payload's hash before the headers go out, so the
/// body is read twice — once to hash it, once (per attempt) to send it — through one 64 KiB pooled buffer.
/// </summary>
internal sealed class AwsRequestBody
{
    private const int CopyBufferBytes = 64 * 1024;

    private readonly byte[] _head;
    private readonly Stream _middle;
    private readonly byte[] _tail;

    /// <param name="middle">Readable and seekable (its <see cref="Stream.Length"/> is exact; it is rewound before each read).</param>
    public AwsRequestBody(byte[] head, Stream middle, byte[] tail)
    {
        ArgumentNullException.ThrowIfNull(middle);
        if (!middle.CanSeek || !middle.CanRead)
        {
            throw new ArgumentException("the body's stream must be readable and seekable (it is read twice)", nameof(middle));
        }

        _head = head;
        _middle = middle;
        _tail = tail;
    }

    public long Length => _head.Length + _middle.Length + _tail.Length;

    /// <summary>SHA-256 of the whole body, for the signature's payload hash.</summary>
    public void ComputeSha256(Span<byte> hash)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(_head);
        _middle.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            int read;
            while ((read = _middle.Read(buffer, 0, buffer.Length)) > 0)
            {
                sha.AppendData(buffer, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        sha.AppendData(_tail);
        sha.GetHashAndReset(hash);
    }

    /// <summary>The body as request content; each send (a resend too) writes it from the start.</summary>
    public HttpContent CreateContent() => new Content(this);

    private async Task WriteToAsync(Stream target, CancellationToken cancellationToken)
    {
        await target.WriteAsync(_head, cancellationToken).ConfigureAwait(false);
        _middle.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyBufferBytes);
        try
        {
            int read;
            while ((read = _middle.Read(buffer, 0, buffer.Length)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await target.WriteAsync(_tail, cancellationToken).ConfigureAwait(false);
    }

    private sealed class Content(AwsRequestBody body) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            body.WriteToAsync(stream, CancellationToken.None);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            body.WriteToAsync(stream, cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
