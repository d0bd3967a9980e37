using System.Text;
using Gateway.Engine.Records;

namespace Gateway.Engine.Parsers;

/// <summary>
/// A parser's time lookup (Fluent Bit's <c>flb_parser_time_lookup</c> + <c>flb_parser_tm2time</c>): formats
/// without a year take the current UTC year (and today's month/day as defaults), <c>Time_Offset</c> applies when
/// the format has no zone, and with <c>Time_Strict Off</c> a partial match still yields the fields parsed so far.
/// </summary>
internal sealed class ParserTimeResolver
{
    /// <summary>Fluent Bit refuses time strings of 64 bytes or more.</summary>
    private const int MaxTimeLength = 63;

    private readonly string _format;
    private readonly bool _formatHasYear;
    private readonly bool _formatHasZone;
    private readonly int _offsetSeconds;
    private readonly bool _strict;
    private readonly bool _systemTimezone;
    private readonly TimeProvider _clock;

    public ParserTimeResolver(string format, int offsetSeconds, bool strict, bool systemTimezone, TimeProvider clock)
    {
        _format = format;
        _formatHasYear = format.Contains("%Y", StringComparison.Ordinal) || format.Contains("%y", StringComparison.Ordinal)
            || format.Contains("%s", StringComparison.Ordinal);
        _formatHasZone = format.Contains("%z", StringComparison.Ordinal) || format.Contains("%Z", StringComparison.Ordinal)
            || format.Contains("%SZ", StringComparison.Ordinal) || format.Contains("%S.%LZ", StringComparison.Ordinal);
        _offsetSeconds = offsetSeconds;
        _strict = strict;
        _systemTimezone = systemTimezone;
        _clock = clock;
    }

    public bool TryResolve(ReadOnlySpan<byte> utf8, out EventTime time)
    {
        if (utf8.Length > MaxTimeLength)
        {
            time = default;
            return false;
        }

        Span<char> chars = stackalloc char[MaxTimeLength];
        var count = Encoding.UTF8.GetChars(utf8, chars);
        return TryResolve(chars[..count], out time);
    }

    public bool TryResolve(ReadOnlySpan<char> value, out EventTime time)
    {
        time = default;
        if (value.Length > MaxTimeLength)
        {
            return false;
        }

        var fields = default(StrptimeFields);
        if (_formatHasYear)
        {
            // struct tm starts zeroed in Fluent Bit: year 1900, month 0, day 0.
            fields.Year = 1900;
        }
        else
        {
            var now = _clock.GetUtcNow();
            fields.Year = now.Year;
            fields.Month = now.Month - 1;
            fields.Day = now.Day;

            // Fluent Bit prepends "YYYY " and "%Y " to input and format, so leading blanks are skipped.
            value = value.TrimStart();
        }

        if (Strptime.Parse(value, _format, ref fields) < 0 && _strict)
        {
            return false;
        }

        if (!fields.HasZone)
        {
            fields.OffsetSeconds = _formatHasZone ? 0 : _offsetSeconds;
            if (_systemTimezone && !_formatHasZone)
            {
                fields.OffsetSeconds = LocalOffsetSeconds(fields);
            }
        }

        var seconds = fields.ToUnixSeconds();
        if (seconds < 0 || seconds > uint.MaxValue)
        {
            return false;
        }

        time = new EventTime((uint)seconds, (uint)fields.Nanoseconds);
        return true;
    }

    private static int LocalOffsetSeconds(StrptimeFields fields)
    {
        var asUtc = fields with { OffsetSeconds = 0 };
        var seconds = asUtc.ToUnixSeconds();
        if (seconds < -62135596800L || seconds > 253402300799L)
        {
            return 0;
        }

        var local = DateTime.SpecifyKind(DateTimeOffset.FromUnixTimeSeconds(seconds).DateTime, DateTimeKind.Unspecified);
        return (int)TimeZoneInfo.Local.GetUtcOffset(local).TotalSeconds;
    }
}
