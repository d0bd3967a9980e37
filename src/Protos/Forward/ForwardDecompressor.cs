using System.Buffers;
using System.IO.Compression;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace Gateway.Protos.Forward;

/// <summary>
/// Inflates CompressedPackedForward payloads with a hard cap on the output, so a small compressed message cannot
/// expand into unbounded memory. gzip input may be several concatenated members (Fluentd's out_forward
/// compresses each appended piece separately); zstd input may be several frames.
/// </summary>
internal static class ForwardDecompressor
{
    /// <summary>Caps the zstd window (8 MiB) so a frame header cannot make the decoder reserve a huge window.</summary>
    private const int ZstdWindowLogMax = 23;

    public static ForwardProtocolError? TryDecompress(string compression, in ReadOnlySequence<byte> compressed, long maxOutput, out byte[] output)
    {
        output = [];
        var length = (int)compressed.Length;
        var input = ArrayPool<byte>.Shared.Rent(Math.Max(1, length));
        try
        {
            compressed.CopyTo(input);
            using var source = new MemoryStream(input, 0, length, writable: false);
            using Stream decompressor = compression switch
            {
                "gzip" => new GZipStream(source, CompressionMode.Decompress),
                _ => CreateZstd(source),
            };

            return ReadCapped(decompressor, compression, maxOutput, out output);
        }
        catch (InvalidDataException ex)
        {
            return new ForwardProtocolError(ForwardErrorKind.Compression, $"{compression} payload does not decompress: {ex.Message}");
        }
        catch (ZstdException ex)
        {
            return new ForwardProtocolError(ForwardErrorKind.Compression, $"{compression} payload does not decompress: {ex.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    private static DecompressionStream CreateZstd(Stream source)
    {
        var stream = new DecompressionStream(source, leaveOpen: true);
        stream.SetParameter(ZSTD_dParameter.ZSTD_d_windowLogMax, ZstdWindowLogMax);
        return stream;
    }

    private static ForwardProtocolError? ReadCapped(Stream decompressor, string compression, long maxOutput, out byte[] output)
    {
        output = [];
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var written = 0;
        try
        {
            while (true)
            {
                if (written == buffer.Length)
                {
                    // Grow only as far as the cap allows (+1 byte to notice overflow).
                    var next = (int)Math.Min((long)buffer.Length * 2, Math.Min(maxOutput + 1, Array.MaxLength));
                    if (next <= buffer.Length)
                    {
                        return TooLarge(compression, maxOutput);
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(next);
                    buffer.AsSpan(0, written).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var room = (int)Math.Min(buffer.Length - written, maxOutput + 1 - written);
                var n = decompressor.Read(buffer, written, room);
                if (n == 0)
                {
                    break;
                }

                written += n;
                if (written > maxOutput)
                {
                    return TooLarge(compression, maxOutput);
                }
            }

            output = buffer.AsSpan(0, written).ToArray();
            return null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static ForwardProtocolError TooLarge(string compression, long maxOutput) =>
        new(ForwardErrorKind.DecompressedTooLarge, $"{compression} payload decompresses to more than {maxOutput} bytes");
}
