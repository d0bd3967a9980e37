using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Engine.Parsers;

/// <summary>
/// <c>Format regex</c> (flb_parser_regex.c): every named group becomes a field, in the order the groups appear
/// in the pattern. Empty or unmatched groups are skipped (Skip_Empty_Values on). A Time_Key group whose value
/// does not parse is dropped and the time left unset, as Fluent Bit does.
/// </summary>
/// <remarks>
/// .NET regexes only report captures for string input, so each line costs one string; field values are still
/// sliced from the input bytes when the line is ASCII.
/// </remarks>
internal sealed class RegexRecordParser : RecordParserBase
{
    private readonly Regex _regex;
    private readonly NamedGroup[] _groups;

    public RegexRecordParser(ParserDefinition definition, Regex regex, TimeProvider clock)
        : base(definition, clock)
    {
        _regex = regex;
        var groups = new List<NamedGroup>();
        foreach (var number in regex.GetGroupNumbers())
        {
            var name = regex.GroupNameFromNumber(number);
            if (name.Length == 0 || char.IsAsciiDigit(name[0]))
            {
                continue;
            }

            groups.Add(new NamedGroup(number, Encoding.UTF8.GetBytes(name), name == definition.TimeKey));
        }

        _groups = groups.ToArray();
    }

    public override bool TryParse(ReadOnlySpan<byte> input, IBufferWriter<byte> recordMsgpack, out EventTime? time)
    {
        time = null;
        var text = Encoding.UTF8.GetString(input);
        Match match;
        try
        {
            match = _regex.Match(text);
        }
        catch (RegexMatchTimeoutException)
        {
            return false;
        }

        if (!match.Success)
        {
            return false;
        }

        var scratch = ParserScratch.Current;
        scratch.ResetRecord();
        var sameOffsets = Ascii.IsValid(input);
        var body = new MessagePackWriter(scratch.Body);
        var count = 0;
        EventTime? recordTime = null;
        foreach (var group in _groups)
        {
            var capture = match.Groups[group.Number];
            if (!capture.Success || capture.Length == 0)
            {
                if (Definition.SkipEmptyValues)
                {
                    continue;
                }
            }

            if (group.IsTimeKey && Time is not null)
            {
                if (!Time.TryResolve(capture.ValueSpan, out var parsed))
                {
                    continue;
                }

                recordTime = parsed;
                if (!Definition.TimeKeep)
                {
                    continue;
                }
            }

            ReadOnlySpan<byte> value;
            if (!capture.Success)
            {
                value = [];
            }
            else if (sameOffsets)
            {
                value = input.Slice(capture.Index, capture.Length);
            }
            else
            {
                var utf8 = scratch.Utf8Value;
                utf8.Reset();
                var span = utf8.GetSpan(Encoding.UTF8.GetMaxByteCount(capture.Length));
                var written = Encoding.UTF8.GetBytes(capture.ValueSpan, span);
                utf8.Advance(written);
                value = utf8.WrittenSpan;
            }

            Fields.WriteStringField(ref body, group.Key, value, scratch);
            count++;
        }

        body.Flush();
        WriteRecord(recordMsgpack, count, scratch);
        time = recordTime;
        return true;
    }

    private readonly record struct NamedGroup(int Number, byte[] Key, bool IsTimeKey);
}
