using System.Text;
using Gateway.Engine.Records;
using IRecordParser = Gateway.Engine.Parsers.IRecordParser;
using Gateway.Engine.Buffers;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>
/// Turns complete lines of one file into records. Implementations may hold lines back (multiline joining,
/// docker mode): <see cref="PendingStartOffset"/> then says where the held bytes start, so the committed offset
/// never passes a line that has not become a record yet.
/// </summary>
internal abstract class TailLineProcessor : IDisposable
{
    /// <summary>File offset of the first byte held back, or null when nothing is pending.</summary>
    public virtual long? PendingStartOffset => null;

    /// <param name="line">One line without its newline (and without a trailing CR).</param>
    /// <param name="lineOffset">File offset of the line's first byte.</param>
    /// <param name="now">The read time, used for records without a parsed time.</param>
    public abstract void ProcessLine(ReadOnlySpan<byte> line, long lineOffset, TailEventBuffer output, DateTimeOffset now);

    /// <summary>Emits held records: all when <paramref name="force"/>, else only those past their flush timeout.</summary>
    public virtual void Flush(TailEventBuffer output, bool force, DateTimeOffset now)
    {
    }

    public virtual void Dispose()
    {
    }
}

/// <summary>
/// Fluent Bit's plain tail path: with no parser each line becomes <c>{Key: line}</c> (default key <c>log</c>);
/// with <c>Parser</c> the parsed map, or the raw line when the parser does not match.
/// </summary>
internal sealed class PlainLineProcessor : TailLineProcessor
{
    private readonly byte[] _key;
    private readonly IRecordParser? _parser;
    private readonly PooledBufferWriter _scratch = new(1024);

    public PlainLineProcessor(string key, IRecordParser? parser)
    {
        _key = Encoding.UTF8.GetBytes(key);
        _parser = parser;
    }

    public override void ProcessLine(ReadOnlySpan<byte> line, long lineOffset, TailEventBuffer output, DateTimeOffset now)
    {
        if (_parser is not null)
        {
            _scratch.Reset();
            if (_parser.TryParse(line, _scratch, out var time))
            {
                output.WriteParsedRecord(time ?? EventTime.FromDateTimeOffset(now), _scratch.WrittenSpan, lineOffset);
                return;
            }
        }

        output.WriteRawLine(EventTime.FromDateTimeOffset(now), _key, line, lineOffset);
    }

    public override void Dispose() => _scratch.Dispose();
}
