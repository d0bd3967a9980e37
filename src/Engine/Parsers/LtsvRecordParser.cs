using System.Buffers;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Engine.Parsers;

/// <summary>
/// <c>Format ltsv</c> (flb_parser_ltsv.c): tab-separated <c>label:value</c> fields, labels of
/// <c>[0-9A-Za-z_.-]</c>. Parsing stops at the first newline or at a field that is not <c>label:</c>. A Time_Key
/// value that does not parse fails the whole line, as in Fluent Bit.
/// </summary>
internal sealed class LtsvRecordParser : RecordParserBase
{
    public LtsvRecordParser(ParserDefinition definition, TimeProvider clock)
        : base(definition, clock)
    {
    }

    public override bool TryParse(ReadOnlySpan<byte> input, IBufferWriter<byte> recordMsgpack, out EventTime? time)
    {
        time = null;
        var scratch = ParserScratch.Current;
        scratch.ResetRecord();
        var body = new MessagePackWriter(scratch.Body);
        var count = 0;
        EventTime? recordTime = null;
        var c = 0;
        var end = input.Length;
        while (c < end)
        {
            var labelStart = c;
            while (c < end && IsLabelByte(input[c]))
            {
                c++;
            }

            var label = input[labelStart..c];
            if (c == end || input[c] != (byte)':')
            {
                break;
            }

            c++;
            var fieldStart = c;
            while (c < end && IsFieldByte(input[c]))
            {
                c++;
            }

            var field = input[fieldStart..c];
            if (label.Length > 0)
            {
                if (!TryApplyTimeKey(label, field, ref recordTime, out var keep))
                {
                    return false;
                }

                if (keep)
                {
                    Fields.WriteStringField(ref body, label, field, scratch);
                    count++;
                }
            }

            if (c == end)
            {
                break;
            }

            if (input[c] == (byte)'\t')
            {
                c++;
            }

            if (c == end || input[c] == (byte)'\r' || input[c] == (byte)'\n')
            {
                break;
            }
        }

        return TryCompleteRecord(ref body, recordMsgpack, count, scratch, recordTime, out time);
    }

    private static bool IsLabelByte(byte b) =>
        (b >= (byte)'0' && b <= (byte)'9') || (b >= (byte)'A' && b <= (byte)'Z') || (b >= (byte)'a' && b <= (byte)'z')
        || b == (byte)'_' || b == (byte)'.' || b == (byte)'-';

    private static bool IsFieldByte(byte b) => b is not (0 or (byte)'\t' or (byte)'\n' or (byte)'\r');
}
