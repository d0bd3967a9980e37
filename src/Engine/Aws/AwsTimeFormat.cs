using System.Buffers;
using System.Globalization;
using System.Text;
using Gateway.Engine.Records;

namespace Gateway.Engine.Aws;

/// <summary>
/// strftime in UTC with Fluent Bit's AWS extensions (flb_aws_strftime_precision): <c>%3N</c> milliseconds,
/// <c>%9N</c> and <c>%L</c> nanoseconds. Parsed once at config time into parts so formatting a record's time
/// writes straight into the output buffer. An unknown conversion is refused when parsing, never at run time.
/// </summary>
internal sealed class AwsTimeFormat
{
    /// <summary>Fluent Bit's default <c>time_key_format</c>.</summary>
    public const string DefaultPattern = "%Y-%m-%dT%H:%M:%S";

    private static readonly string[] ShortDays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    private static readonly string[] LongDays = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] ShortMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    private static readonly string[] LongMonths = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    private readonly (char Conversion, byte[] Literal)[] _parts;

    private AwsTimeFormat(string pattern, (char, byte[])[] parts)
    {
        Pattern = pattern;
        _parts = parts;
    }

    public string Pattern { get; }

    /// <exception cref="FormatException">A conversion strftime does not have, or a lone <c>%</c> at the end.</exception>
    public static AwsTimeFormat Parse(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var parts = new List<(char, byte[])>();
        var literal = new StringBuilder();
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c != '%')
            {
                literal.Append(c);
                continue;
            }

            if (i + 1 >= pattern.Length)
            {
                throw new FormatException($"'{pattern}' ends with a lone '%'");
            }

            var next = pattern[++i];
            char conversion;
            if (next is '3' or '9' && i + 1 < pattern.Length && pattern[i + 1] == 'N')
            {
                conversion = next == '3' ? '3' : 'L'; // %3N milliseconds; %9N is %L
                i++;
            }
            else if (next == '%')
            {
                literal.Append('%');
                continue;
            }
            else if (next == 'n' || next == 't')
            {
                literal.Append(next == 'n' ? '\n' : '\t');
                continue;
            }
            else if ("aAbBhCdDeFHIjklmMpRsSTuwyYzZL".Contains(next, StringComparison.Ordinal))
            {
                conversion = next;
            }
            else
            {
                throw new FormatException($"'%{next}' in '{pattern}' is not a strftime conversion this output supports (use %Y %m %d %H %M %S %j %a %b %z %Z %s, %3N for milliseconds, %9N or %L for nanoseconds)");
            }

            Flush(parts, literal);
            parts.Add((conversion, []));
        }

        Flush(parts, literal);
        return new AwsTimeFormat(pattern, [.. parts]);

        static void Flush(List<(char, byte[])> parts, StringBuilder literal)
        {
            if (literal.Length > 0)
            {
                parts.Add(('\0', Encoding.UTF8.GetBytes(literal.ToString())));
                literal.Clear();
            }
        }
    }

    /// <summary>Writes <paramref name="time"/> (UTC) formatted by the pattern.</summary>
    public void Write(EventTime time, IBufferWriter<byte> output)
    {
        var utc = DateTime.UnixEpoch.AddSeconds(time.Seconds);
        foreach (var (conversion, literal) in _parts)
        {
            if (conversion == '\0')
            {
                output.Write(literal);
                continue;
            }

            var span = output.GetSpan(32);
            var n = Format(conversion, utc, time, span);
            output.Advance(n);
        }
    }

    public string Format(EventTime time)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        Write(time, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static int Format(char conversion, DateTime utc, EventTime time, Span<byte> span)
    {
        var culture = CultureInfo.InvariantCulture;
        int n;
        switch (conversion)
        {
            case '3':
                (time.Nanoseconds / 1_000_000).TryFormat(span, out n, "D3", culture);
                return n;
            case 'L':
                time.Nanoseconds.TryFormat(span, out n, "D9", culture);
                return n;
            case 'Y':
                utc.Year.TryFormat(span, out n, "D4", culture);
                return n;
            case 'C':
                (utc.Year / 100).TryFormat(span, out n, "D2", culture);
                return n;
            case 'y':
                (utc.Year % 100).TryFormat(span, out n, "D2", culture);
                return n;
            case 'm':
                utc.Month.TryFormat(span, out n, "D2", culture);
                return n;
            case 'd':
                utc.Day.TryFormat(span, out n, "D2", culture);
                return n;
            case 'e':
                return Padded(utc.Day, span);
            case 'H':
                utc.Hour.TryFormat(span, out n, "D2", culture);
                return n;
            case 'k':
                return Padded(utc.Hour, span);
            case 'I':
                (utc.Hour % 12 == 0 ? 12 : utc.Hour % 12).TryFormat(span, out n, "D2", culture);
                return n;
            case 'l':
                return Padded(utc.Hour % 12 == 0 ? 12 : utc.Hour % 12, span);
            case 'M':
                utc.Minute.TryFormat(span, out n, "D2", culture);
                return n;
            case 'S':
                utc.Second.TryFormat(span, out n, "D2", culture);
                return n;
            case 'j':
                utc.DayOfYear.TryFormat(span, out n, "D3", culture);
                return n;
            case 'p':
                return Ascii(utc.Hour < 12 ? "AM" : "PM", span);
            case 'a':
                return Ascii(ShortDays[(int)utc.DayOfWeek], span);
            case 'A':
                return Ascii(LongDays[(int)utc.DayOfWeek], span);
            case 'b' or 'h':
                return Ascii(ShortMonths[utc.Month - 1], span);
            case 'B':
                return Ascii(LongMonths[utc.Month - 1], span);
            case 'u':
                ((int)utc.DayOfWeek == 0 ? 7 : (int)utc.DayOfWeek).TryFormat(span, out n, provider: culture);
                return n;
            case 'w':
                ((int)utc.DayOfWeek).TryFormat(span, out n, provider: culture);
                return n;
            case 's':
                time.Seconds.TryFormat(span, out n, provider: culture);
                return n;
            case 'z':
                return Ascii("+0000", span);
            case 'Z':
                // glibc's strftime on a gmtime_r result, as Fluent Bit calls it, names the zone GMT.
                return Ascii("GMT", span);
            case 'F':
                utc.TryFormat(span, out n, "yyyy'-'MM'-'dd", culture);
                return n;
            case 'T':
                utc.TryFormat(span, out n, "HH':'mm':'ss", culture);
                return n;
            case 'R':
                utc.TryFormat(span, out n, "HH':'mm", culture);
                return n;
            case 'D':
                utc.TryFormat(span, out n, "MM'/'dd'/'yy", culture);
                return n;
            default:
                return 0;
        }
    }

    private static int Padded(int value, Span<byte> span)
    {
        if (value < 10)
        {
            span[0] = (byte)' ';
            span[1] = (byte)('0' + value);
            return 2;
        }

        value.TryFormat(span, out var n, provider: CultureInfo.InvariantCulture);
        return n;
    }

    private static int Ascii(string text, Span<byte> span) => Encoding.ASCII.GetBytes(text, span);
}
