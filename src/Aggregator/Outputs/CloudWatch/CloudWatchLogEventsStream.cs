using System.Buffers.Text;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// One request's <c>logEvents</c> array, <c>[{"timestamp":ms,"message":"…"},…]</c>, read straight from the
/// messages the plans hold (stored escaped): the only bytes made here are each event's few framing bytes. The
/// client reads it twice (to sign, then to send) and again on a resend; <see cref="Position"/> = 0 rewinds.
/// One per sender, reused for each of its requests.
/// </summary>
internal sealed class CloudWatchLogEventsStream : ReadOnlyPayloadStream
{
    private static ReadOnlySpan<byte> FirstHead => "{\"timestamp\":"u8;

    private static ReadOnlySpan<byte> NextHead => ",{\"timestamp\":"u8;

    private static ReadOnlySpan<byte> MessageHead => ",\"message\":\""u8;

    private static ReadOnlySpan<byte> EventTail => "\"}"u8;

    private readonly byte[] _framing = new byte[64];
    private CloudWatchQueuedEvent[] _events = [];
    private int _count;
    private long _length;
    private long _position;

    // The piece being read: framing bytes (in _framing) or a message (in its plan's pages).
    private int _step;
    private int _pieceOffset;
    private int _pieceLength;
    private CloudWatchMessagePages? _pieceMessages;
    private int _pieceMessageOffset;

    /// <summary>Points the stream at a request's events (sorted, already taken from the queue) and rewinds.</summary>
    public void Reset(CloudWatchQueuedEvent[] events, int count)
    {
        _events = events;
        _count = count;
        long length = 2; // [ ]
        Span<byte> digits = stackalloc byte[20];
        for (var i = 0; i < count; i++)
        {
            ref readonly var e = ref events[i];
            Utf8Formatter.TryFormat(e.TimestampMs, digits, out var digitCount);
            length += (i == 0 ? FirstHead.Length : NextHead.Length) + digitCount + MessageHead.Length + e.Length + EventTail.Length;
        }

        _length = length;
        Position = 0;
    }

    /// <summary>Lets go of the request's events (they are settled and the array goes back to its pool).</summary>
    public void Clear()
    {
        _events = [];
        _count = 0;
        _length = 0;
        _pieceMessages = null;
    }

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set
        {
            if (value != 0)
            {
                throw new NotSupportedException("the log events stream can only be rewound to its start");
            }

            _position = 0;
            _step = 0;
            _pieceOffset = 0;
            _pieceLength = 0;
            _pieceMessages = null;
        }
    }

    public override int Read(Span<byte> buffer)
    {
        var written = 0;
        while (written < buffer.Length)
        {
            if (_pieceOffset == _pieceLength && !NextPiece())
            {
                break;
            }

            var n = Math.Min(_pieceLength - _pieceOffset, buffer.Length - written);
            if (_pieceMessages is { } messages)
            {
                messages.CopyTo(_pieceMessageOffset + _pieceOffset, buffer.Slice(written, n));
            }
            else
            {
                _framing.AsSpan(_pieceOffset, n).CopyTo(buffer[written..]);
            }

            _pieceOffset += n;
            written += n;
        }

        _position += written;
        return written;
    }

    /// <summary>
    /// Moves to the next piece: step 0 is <c>[</c>; event i is steps 3i+1 (its head: separator, timestamp and
    /// <c>,"message":"</c>), 3i+2 (its message) and 3i+3 (<c>"}</c>); then <c>]</c>. False at the end.
    /// </summary>
    private bool NextPiece()
    {
        var step = _step++;
        _pieceOffset = 0;
        _pieceMessages = null;
        if (step == 0)
        {
            _framing[0] = (byte)'[';
            _pieceLength = 1;
            return true;
        }

        var index = (step - 1) / 3;
        if (index >= _count)
        {
            if (index == _count && (step - 1) % 3 == 0)
            {
                _framing[0] = (byte)']';
                _pieceLength = 1;
                return true;
            }

            _pieceLength = 0;
            return false;
        }

        ref readonly var e = ref _events[index];
        switch ((step - 1) % 3)
        {
            case 0:
                var head = index == 0 ? FirstHead : NextHead;
                head.CopyTo(_framing);
                Utf8Formatter.TryFormat(e.TimestampMs, _framing.AsSpan(head.Length), out var digits);
                MessageHead.CopyTo(_framing.AsSpan(head.Length + digits));
                _pieceLength = head.Length + digits + MessageHead.Length;
                return true;
            case 1:
                _pieceMessages = e.Chunk.Plan.Messages;
                _pieceMessageOffset = e.Offset;
                _pieceLength = e.Length;
                return true;
            default:
                EventTail.CopyTo(_framing);
                _pieceLength = EventTail.Length;
                return true;
        }
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        if (origin != SeekOrigin.Begin)
        {
            throw new NotSupportedException("the log events stream can only be rewound to its start");
        }

        Position = offset;
        return 0;
    }
}
