using Gateway.Engine.Buffers;
using Gateway.Engine.Parsers;
using Gateway.Shipper.Inputs.Tail;

namespace Gateway.Shipper.Container;

/// <summary>
/// Fluent Bit's <c>Docker_Mode On</c> (tail_dockermode.c): docker's json-file driver splits messages longer than
/// 16 KB into several lines whose <c>log</c> does not end in a newline. Such lines are held; their (still escaped)
/// <c>log</c> text is concatenated and put in front of the <c>log</c> of the line that completes the message, and that
/// rebuilt line then goes through the normal path (<c>Parser</c>, usually <c>docker</c>). A held message is flushed
/// as-is after <c>Docker_Mode_Flush</c> seconds, and before any line that is not docker JSON.
/// </summary>
internal sealed class DockerModeProcessor : TailLineProcessor
{
    private static readonly byte[] LogKey = "log"u8.ToArray();

    private readonly TailLineProcessor _inner;
    private readonly TimeSpan _flushTimeout;
    private readonly PooledBufferWriter _joined = new(4096);
    private readonly PooledBufferWriter _lastLine = new(1024);
    private readonly PooledBufferWriter _unescaped = new(1024);
    private readonly PooledBufferWriter _rebuilt = new(4096);
    private long? _pendingOffset;
    private DateTimeOffset _deadline;

    public DockerModeProcessor(TailLineProcessor inner, TimeSpan flushTimeout)
    {
        _inner = inner;
        _flushTimeout = flushTimeout;
    }

    public override long? PendingStartOffset => _pendingOffset;

    public override void ProcessLine(ReadOnlySpan<byte> line, long lineOffset, TailEventBuffer output, DateTimeOffset now)
    {
        _unescaped.Reset();
        if (!JsonMsgpack.TryScanObject(line, out _)
            || !JsonMsgpack.TryFindString(line, LogKey, _unescaped, out var rawStart, out var rawLength))
        {
            FlushHeld(output, now);
            _inner.ProcessLine(line, lineOffset, output, now);
            return;
        }

        var endsWithNewline = _unescaped.WrittenCount > 0 && _unescaped.WrittenSpan[^1] == (byte)'\n';
        if (!endsWithNewline)
        {
            _joined.Write(line.Slice(rawStart, rawLength));
            _lastLine.Reset();
            _lastLine.Write(line);
            _pendingOffset ??= lineOffset;
            _deadline = now + _flushTimeout;
            return;
        }

        if (_pendingOffset is not { } start)
        {
            _inner.ProcessLine(line, lineOffset, output, now);
            return;
        }

        _rebuilt.Reset();
        _rebuilt.Write(line[..rawStart]);
        _rebuilt.Write(_joined.WrittenSpan);
        _rebuilt.Write(line[rawStart..]);
        ResetHeld();
        _inner.ProcessLine(_rebuilt.WrittenSpan, start, output, now);
    }

    public override void Flush(TailEventBuffer output, bool force, DateTimeOffset now)
    {
        if (_pendingOffset is not null && (force || now >= _deadline))
        {
            FlushHeld(output, now);
        }

        _inner.Flush(output, force, now);
    }

    public override void Dispose()
    {
        _inner.Dispose();
        _joined.Dispose();
        _lastLine.Dispose();
        _unescaped.Dispose();
        _rebuilt.Dispose();
    }

    private void FlushHeld(TailEventBuffer output, DateTimeOffset now)
    {
        if (_pendingOffset is not { } start)
        {
            return;
        }

        // The last held line with its log replaced by everything held (its own part included).
        var last = _lastLine.WrittenSpan;
        _unescaped.Reset();
        JsonMsgpack.TryFindString(last, LogKey, _unescaped, out var rawStart, out var rawLength);
        _rebuilt.Reset();
        _rebuilt.Write(last[..rawStart]);
        _rebuilt.Write(_joined.WrittenSpan);
        _rebuilt.Write(last[(rawStart + rawLength)..]);
        ResetHeld();
        _inner.ProcessLine(_rebuilt.WrittenSpan, start, output, now);
    }

    private void ResetHeld()
    {
        _joined.Reset();
        _lastLine.Reset();
        _pendingOffset = null;
    }
}
