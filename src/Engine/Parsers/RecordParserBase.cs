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
