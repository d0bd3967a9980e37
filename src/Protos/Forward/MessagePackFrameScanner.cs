using System.Buffers;
using System.Buffers.Binary;

namespace Gateway.Protos.Forward;

/// <summary>What <see cref="MessagePackFrameScanner.Scan"/> found.</summary>
internal enum FrameScanStatus
{
    /// <summary>The object is not complete yet; read more bytes and call again with the grown buffer.</summary>
    Incomplete,

    /// <summary>One whole msgpack object is present; its length is in <see cref="MessagePackFrameScanner.FrameLength"/>.</summary>
    Complete,

    /// <summary>The bytes can never become a valid frame (bad type byte, too large, too deep).</summary>
    Error,
}

/// <summary>
/// Finds the end of one msgpack object in a buffer that grows as bytes arrive, without decoding it and without
/// allocating anything proportional to the sizes the bytes declare. It walks headers only, keeps an explicit
/// stack of "items left" per open container (so hostile nesting cannot overflow the call stack), and rejects a
/// frame as soon as a declared length or element count could not fit in <c>maxFrameBytes</c> — a header that
/// declares a 4 GB bin is refused after 5 bytes instead of after 4 GB.
/// The scan is resumable: the state survives between calls so a message delivered in many small reads is
/// walked once, not once per read.
/// </summary>
internal sealed class MessagePackFrameScanner
{
    /// <summary>Deep enough for any real record, shallow enough that recursive readers (MessagePackReader.Skip) stay safe.</summary>
    public const int DefaultMaxDepth = 64;

    private readonly long[] _remaining;
    private long _offset;
    private long _pendingSkip;
    private int _depth;
    private bool _started;

    public MessagePackFrameScanner(long maxFrameBytes, int maxDepth = DefaultMaxDepth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxFrameBytes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxDepth, 1);
        MaxFrameBytes = maxFrameBytes;
        _remaining = new long[maxDepth + 1];
        Reset();
    }

    public long MaxFrameBytes { get; }

    /// <summary>Length of the complete frame after <see cref="FrameScanStatus.Complete"/>.</summary>
    public long FrameLength { get; private set; }

    /// <summary>Why the scan failed after <see cref="FrameScanStatus.Error"/>.</summary>
    public string? Error { get; private set; }

    /// <summary>True when the failure was a size limit (for the "oversized" metric reason).</summary>
    public bool ErrorIsSizeLimit { get; private set; }

    /// <summary>First byte of the frame, once seen (lets callers reject a non-array early).</summary>
    public byte? FirstByte { get; private set; }

    /// <summary>Forgets the current frame; call after consuming a complete frame.</summary>
    public void Reset()
    {
        _offset = 0;
        _pendingSkip = 0;
        _depth = 1;
        _remaining[0] = 1;
        _started = false;
        FrameLength = 0;
        Error = null;
        ErrorIsSizeLimit = false;
        FirstByte = null;
    }

    /// <summary>
    /// Continues scanning <paramref name="buffer"/>, which must start at the frame's first byte and contain at
    /// least the bytes given in earlier calls since the last <see cref="Reset"/>.
    /// </summary>
    public FrameScanStatus Scan(in ReadOnlySequence<byte> buffer)
    {
        if (Error is not null)
        {
            return FrameScanStatus.Error;
        }

        Span<byte> header = stackalloc byte[9];
        var length = buffer.Length;
        while (true)
        {
            if (_pendingSkip > 0)
            {
                var available = length - _offset;
                if (available < _pendingSkip)
                {
                    _pendingSkip -= available;
                    _offset = length;
                    return FrameScanStatus.Incomplete;
                }

                _offset += _pendingSkip;
                _pendingSkip = 0;
            }

            while (_depth > 0 && _remaining[_depth - 1] == 0)
            {
                _depth--;
            }

            if (_depth == 0)
            {
                FrameLength = _offset;
                return FrameScanStatus.Complete;
            }

            if (_offset >= length)
            {
                return FrameScanStatus.Incomplete;
            }

            var headerAvailable = (int)Math.Min(9, length - _offset);
            buffer.Slice(_offset, headerAvailable).CopyTo(header);
            var type = header[0];
            if (!_started)
            {
                _started = true;
                FirstByte = type;
            }

            if (!TryParseHeader(header[..headerAvailable], out var headerLength, out var payloadLength, out var childItems))
            {
                if (type == 0xc1)
                {
                    return Fail($"invalid msgpack type byte 0xc1 at offset {_offset}", sizeLimit: false);
                }

                return FrameScanStatus.Incomplete;
            }

            _remaining[_depth - 1]--;
            var end = _offset + headerLength;

            // Each child item takes at least one byte, so a count that cannot fit is refused up front.
            if (end + payloadLength + childItems > MaxFrameBytes)
            {
                return Fail(
                    $"message exceeds the maximum size of {MaxFrameBytes} bytes (header at offset {_offset} declares {(childItems > 0 ? childItems + " items" : payloadLength + " bytes")})",
                    sizeLimit: true);
            }

            _offset = end;
            if (childItems > 0)
            {
                if (_depth >= _remaining.Length)
                {
                    return Fail($"msgpack nesting deeper than {_remaining.Length - 1} levels at offset {_offset}", sizeLimit: false);
                }

                _remaining[_depth++] = childItems;
            }
            else
            {
                _pendingSkip = payloadLength;
            }
        }
    }

    private FrameScanStatus Fail(string reason, bool sizeLimit)
    {
        Error = reason;
        ErrorIsSizeLimit = sizeLimit;
        return FrameScanStatus.Error;
    }

    /// <summary>
    /// Decodes one msgpack header: its own length, the bytes of payload that follow it, and the number of child
    /// items (arrays: n, maps: 2n). False when the header is cut short or the type byte is invalid.
    /// </summary>
    private static bool TryParseHeader(ReadOnlySpan<byte> h, out int headerLength, out long payloadLength, out long childItems)
    {
        headerLength = 1;
        payloadLength = 0;
        childItems = 0;
        var b = h[0];
        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        {
            return true;
        }

        if (b <= 0x8f)
        {
            childItems = 2L * (b & 0x0f);
            return true;
        }

        if (b <= 0x9f)
        {
            childItems = b & 0x0f;
            return true;
        }

        if (b <= 0xbf)
        {
            payloadLength = b & 0x1f;
            return true;
        }

        switch (b)
        {
            case 0xc4 or 0xd9: return Sized(h, 1, 0, out headerLength, out payloadLength);
            case 0xc5 or 0xda: return Sized(h, 2, 0, out headerLength, out payloadLength);
            case 0xc6 or 0xdb: return Sized(h, 4, 0, out headerLength, out payloadLength);
            case 0xc7: return Sized(h, 1, 1, out headerLength, out payloadLength);
            case 0xc8: return Sized(h, 2, 1, out headerLength, out payloadLength);
            case 0xc9: return Sized(h, 4, 1, out headerLength, out payloadLength);
            case 0xca: payloadLength = 4; return true;
            case 0xcb: payloadLength = 8; return true;
            case 0xcc or 0xd0: payloadLength = 1; return true;
            case 0xcd or 0xd1: payloadLength = 2; return true;
            case 0xce or 0xd2: payloadLength = 4; return true;
            case 0xcf or 0xd3: payloadLength = 8; return true;
            case 0xd4: payloadLength = 2; return true;
            case 0xd5: payloadLength = 3; return true;
            case 0xd6: payloadLength = 5; return true;
            case 0xd7: payloadLength = 9; return true;
            case 0xd8: payloadLength = 17; return true;
            case 0xdc:
                if (!Sized(h, 2, 0, out headerLength, out childItems))
                {
                    return false;
                }

                return true;
            case 0xdd:
                return Sized(h, 4, 0, out headerLength, out childItems);
            case 0xde:
                if (!Sized(h, 2, 0, out headerLength, out childItems))
                {
                    return false;
                }

                childItems *= 2;
                return true;
            case 0xdf:
                if (!Sized(h, 4, 0, out headerLength, out childItems))
                {
                    return false;
                }

                childItems *= 2;
                return true;
            default:
                // 0xc1 is the only remaining byte: never used by msgpack.
                return false;
        }
    }

    private static bool Sized(ReadOnlySpan<byte> h, int lengthBytes, int extraHeaderBytes, out int headerLength, out long value)
    {
        headerLength = 1 + lengthBytes + extraHeaderBytes;
        if (h.Length < 1 + lengthBytes)
        {
            value = 0;
            return false;
        }

        value = lengthBytes switch
        {
            1 => h[1],
            2 => BinaryPrimitives.ReadUInt16BigEndian(h[1..]),
            _ => BinaryPrimitives.ReadUInt32BigEndian(h[1..]),
        };

        // The ext type byte belongs to the header; it must be present before the header counts as parsed.
        return h.Length >= headerLength;
    }
}
