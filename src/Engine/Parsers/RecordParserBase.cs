using System.Buffers;
using System.Text;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Engine.Parsers;

/// <summary>What the formats share: settings, the time resolver, field typing/decoding and writing the final map.</summary>
internal abstract class RecordParserBase : IRecordParser
{
    protected RecordParserBase(ParserDefinition definition, TimeProvider clock)
    {
        Definition = definition;
        Fields = new RecordFieldWriter(definition);
        TimeKey = Encoding.UTF8.GetBytes(definition.TimeKey);
        Time = definition.TimeFormat is null
            ? null
            : new ParserTimeResolver(definition.TimeFormat, definition.TimeOffsetSeconds, definition.TimeStrict, definition.TimeSystemTimezone, clock);
    }

    public string Name => Definition.Name;

    public ParserFormat Format => Definition.Format;

    protected ParserDefinition Definition { get; }

    protected RecordFieldWriter Fields { get; }

    /// <summary>The time key as UTF-8 bytes.</summary>
    protected byte[] TimeKey { get; }

    /// <summary>Null when the parser has no Time_Format.</summary>
    protected ParserTimeResolver? Time { get; }

    public abstract bool TryParse(ReadOnlySpan<byte> input, IBufferWriter<byte> recordMsgpack, out EventTime? time);

    /// <summary>
    /// Time_Key for one field of a key/value format: false when the field is the time key and its value does not
    /// parse (the whole line fails, as in Fluent Bit); <paramref name="keep"/> says whether the field stays in the
    /// record (always, unless it is the time key and Time_Keep is off).
    /// </summary>
    protected bool TryApplyTimeKey(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, ref EventTime? recordTime, out bool keep)
    {
        keep = true;
        if (Time is null || value.IsEmpty || !key.SequenceEqual(TimeKey))
        {
            return true;
        }

        if (!Time.TryResolve(value, out var parsed))
        {
            return false;
        }

        recordTime = parsed;
        keep = Definition.TimeKeep;
        return true;
    }

    /// <summary>Ends a key/value format's line: a line without fields is not a record; otherwise the record is written.</summary>
    protected static bool TryCompleteRecord(ref MessagePackWriter body, IBufferWriter<byte> output, int count, ParserScratch scratch, EventTime? recordTime, out EventTime? time)
    {
        time = null;
        if (count == 0)
        {
            return false;
        }

        body.Flush();
        WriteRecord(output, count, scratch);
        time = recordTime;
        return true;
    }

    /// <summary>Writes the map header, the body and any keys appended by Decode_Field to the caller's buffer.</summary>
    protected static void WriteRecord(IBufferWriter<byte> output, int count, ParserScratch scratch)
    {
        var writer = new MessagePackWriter(output);
        writer.WriteMapHeader(count + scratch.ExtraCount);
        writer.WriteRaw(scratch.Body.WrittenSpan);
        writer.WriteRaw(scratch.Extra.WrittenSpan);
        writer.Flush();
    }
}
