using Gateway.Engine.Buffers;
using Gateway.Engine.Parsers;
using Gateway.Engine.Records;
using Gateway.Shipper.Inputs.Tail;

namespace Gateway.Shipper.Container;

/// <summary>The built-in multiline parsers the shipper implements (<c>multiline.parser</c>).</summary>
public enum ContainerMultilineParser
{
    /// <summary>docker json-file: joins lines whose <c>log</c> does not end in a newline (16 KB splits).</summary>
    Docker,

    /// <summary>CRI: parses <c>time stream P|F log</c> and joins <c>P</c> lines with the next <c>F</c>.</summary>
    Cri,
}

/// <summary>
/// Fluent Bit's multiline core with the built-in <c>docker</c> and <c>cri</c> parsers, for one file. Each line is
/// tried against the configured parsers in order (format detected per line). Lines of one group (same parser,
/// same <c>stream</c>) are joined; the record is the *first* line's record with <c>log</c> replaced by the joined
/// text and the first line's time (flb_ml_flush_stream_group). A change of parser or stream flushes the pending
/// group; a line no parser accepts becomes <c>{"log": line}</c>; an incomplete group is flushed after 4 s
/// (FLB_ML_FLUSH_TIMEOUT).
/// </summary>
internal sealed class ContainerMultilineProcessor : TailLineProcessor
{
    public static readonly TimeSpan DefaultFlushTimeout = TimeSpan.FromMilliseconds(4000);

    private static readonly byte[] LogKey = "log"u8.ToArray();
    private static readonly byte[] StreamKey = "stream"u8.ToArray();
    private static readonly byte[] TimeKey = "time"u8.ToArray();

    private readonly ContainerMultilineParser[] _parsers;
    private readonly TimeSpan _flushTimeout;
    private readonly PooledBufferWriter _firstLine = new(1024);
    private readonly PooledBufferWriter _content = new(4096);
    private readonly PooledBufferWriter _stream = new(16);
    private readonly PooledBufferWriter _scratch = new(1024);
    private readonly PooledBufferWriter _fieldScratch = new(64);
    private readonly PooledBufferWriter _timeScratch = new(64);

    private bool _pending;
    private ContainerMultilineParser _pendingParser;
    private EventTime _pendingTime;
    private long _pendingOffset;
    private DateTimeOffset _pendingSince;

    public ContainerMultilineProcessor(IReadOnlyList<ContainerMultilineParser> parsers, TimeSpan? flushTimeout = null)
    {
        if (parsers.Count == 0)
        {
            throw new ArgumentException("at least one multiline parser is required", nameof(parsers));
        }

        _parsers = [.. parsers];
        _flushTimeout = flushTimeout ?? DefaultFlushTimeout;
    }

    public override long? PendingStartOffset => _pending ? _pendingOffset : null;

    public override void ProcessLine(ReadOnlySpan<byte> line, long lineOffset, TailEventBuffer output, DateTimeOffset now)
    {
        foreach (var parser in _parsers)
        {
            var accepted = parser == ContainerMultilineParser.Docker
                ? TryDocker(line, lineOffset, output, now)
                : TryCri(line, lineOffset, output, now);
            if (accepted)
            {
                return;
            }
        }

        // No parser accepted the line: flush what is pending, then the line on its own under "log".
        FlushPending(output);
        output.WriteRawLine(EventTime.FromDateTimeOffset(now), LogKey, line, lineOffset);
    }

    public override void Flush(TailEventBuffer output, bool force, DateTimeOffset now)
    {
        if (_pending && (force || now - _pendingSince >= _flushTimeout))
        {
            FlushPending(output);
        }
    }

    public override void Dispose()
    {
        _firstLine.Dispose();
        _content.Dispose();
        _stream.Dispose();
        _scratch.Dispose();
        _fieldScratch.Dispose();
        _timeScratch.Dispose();
    }

    private bool TryDocker(ReadOnlySpan<byte> line, long lineOffset, TailEventBuffer output, DateTimeOffset now)
    {
        if (!JsonMsgpack.TryScanObject(line, out _))
        {
            return false;
        }

        _scratch.Reset();
        if (!JsonMsgpack.TryFindString(line, LogKey, _scratch, out _, out _) || _scratch.WrittenCount == 0)
        {
            // key_content must be a non-empty string for the ENDSWITH rule to apply.
            return false;
        }

        _fieldScratch.Reset();
        var hasStream = JsonMsgpack.TryFindString(line, StreamKey, _fieldScratch, out _, out _);
        var stream = hasStream ? _fieldScratch.WrittenSpan : default;
        var complete = _scratch.WrittenSpan[^1] == (byte)'\n';

        if (_pending && (_pendingParser != ContainerMultilineParser.Docker || !stream.SequenceEqual(_stream.WrittenSpan)))
        {
            FlushPending(output);
        }

        if (!_pending)
        {
            var time = EventTime.FromDateTimeOffset(now);
            _timeScratch.Reset();
            if (JsonMsgpack.TryFindString(line, TimeKey, _timeScratch, out _, out _)
                && ContainerTime.TryParse(_timeScratch.WrittenSpan, applyZone: false, out var parsed))
            {
                time = parsed;
            }

            Start(ContainerMultilineParser.Docker, line, stream, time, lineOffset, now);
        }

        _content.Write(_scratch.WrittenSpan);
        if (complete)
        {
            FlushPending(output);
        }

        return true;
    }

    private bool TryCri(ReadOnlySpan<byte> line, long lineOffset, TailEventBuffer output, DateTimeOffset now)
    {
        if (!CriLine.TryParse(line, out var cri))
        {
            return false;
        }

        if (_pending && (_pendingParser != ContainerMultilineParser.Cri || !cri.Stream.SequenceEqual(_stream.WrittenSpan)))
        {
            FlushPending(output);
        }

        if (!_pending)
        {
            var time = ContainerTime.TryParse(cri.Time, applyZone: true, out var parsed) ? parsed : EventTime.FromDateTimeOffset(now);
            Start(ContainerMultilineParser.Cri, line, cri.Stream, time, lineOffset, now);
        }

        _content.Write(cri.Log);
        if (!cri.Partial)
        {
            FlushPending(output);
        }

        return true;
    }

    private void Start(ContainerMultilineParser parser, ReadOnlySpan<byte> line, ReadOnlySpan<byte> stream, EventTime time, long lineOffset, DateTimeOffset now)
    {
        _pending = true;
        _pendingParser = parser;
        _pendingTime = time;
        _pendingOffset = lineOffset;
        _pendingSince = now;
        _firstLine.Reset();
        _firstLine.Write(line);
        _stream.Reset();
        _stream.Write(stream);
        _content.Reset();
    }

    private void FlushPending(TailEventBuffer output)
    {
        if (!_pending)
        {
            return;
        }

        var first = _firstLine.WrittenSpan;
        if (_pendingParser == ContainerMultilineParser.Docker)
        {
            JsonMsgpack.TryScanObject(first, out var members);
            output.WriteJsonRecord(_pendingTime, first, members, LogKey, _content.WrittenSpan, _pendingOffset);
        }
        else
        {
            CriLine.TryParse(first, out var cri);
            output.WriteCriRecord(_pendingTime, cri, _content.WrittenSpan, _pendingOffset);
        }

        _pending = false;
        _content.Reset();
    }
}
