using System.Buffers;
using System.Text.Json;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Engine.Parsers;

/// <summary>
/// <c>Format json</c> (flb_parser_json.c): the line must be exactly one JSON object. Decoders apply to string
/// values; the first key equal to Time_Key with a string value gives the time and is dropped unless Time_Keep.
/// A time that does not parse leaves the key in place and the time unset, as Fluent Bit does.
/// </summary>
internal sealed class JsonRecordParser : RecordParserBase
{
    public JsonRecordParser(ParserDefinition definition, TimeProvider clock)
        : base(definition, clock)
    {
    }

    public override bool TryParse(ReadOnlySpan<byte> input, IBufferWriter<byte> recordMsgpack, out EventTime? time)
    {
        time = null;
        var scratch = ParserScratch.Current;
        scratch.ResetRecord();
        var count = 0;
        EventTime? recordTime = null;
        var timeKeySeen = false;
        try
        {
            var reader = new Utf8JsonReader(input, JsonMsgpack.ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            var body = new MessagePackWriter(scratch.Body);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var key = JsonMsgpack.GetUnescaped(ref reader, scratch, second: false);
                var isTimeKey = Time is not null && !timeKeySeen && key.SequenceEqual(TimeKey);
                timeKeySeen |= isTimeKey;
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    body.WriteString(key);
                    JsonMsgpack.WriteValue(ref reader, ref body, scratch);
                    count++;
                    continue;
                }

                var value = JsonMsgpack.GetUnescaped(ref reader, scratch, second: true);
                if (isTimeKey && Time!.TryResolve(value, out var parsed))
                {
                    recordTime = parsed;
                    if (!Definition.TimeKeep)
                    {
                        continue;
                    }
                }

                Fields.WriteStringFieldUntyped(ref body, key, value, scratch);
                count++;
            }

            body.Flush();

            // Anything after the object (a second value, garbage) makes the reader throw; whitespace ends cleanly.
            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }

        WriteRecord(recordMsgpack, count, scratch);
        time = recordTime;
        return true;
    }
}
