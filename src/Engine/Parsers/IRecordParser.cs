using System.Buffers;
using Gateway.Engine.Records;

namespace Gateway.Engine.Parsers;

/// <summary>
/// Turns one log line into one record, as a Fluent Bit <c>[PARSER]</c> does. Implementations are thread-safe and
/// allocation-free per record except where noted (the regex format needs a .NET string per line).
/// </summary>
public interface IRecordParser
{
    string Name { get; }

    ParserFormat Format { get; }

    /// <summary>
    /// Parses <paramref name="input"/> (UTF-8, one line, without the newline). On success writes exactly one msgpack
    /// map to <paramref name="recordMsgpack"/>, with fields in the order Fluent Bit produces them, and returns true;
    /// otherwise writes nothing and returns false (the caller keeps the raw line, as Fluent Bit does).
    /// </summary>
    /// <param name="time">The record time read from the time key, or null when the parser has no Time_Format, the
    /// key is absent or its value did not parse; the caller then uses the current time.</param>
    bool TryParse(ReadOnlySpan<byte> input, IBufferWriter<byte> recordMsgpack, out EventTime? time);
}
