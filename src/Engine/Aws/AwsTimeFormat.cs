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

    private static int Format(char conversion, DateTime utc, EventTime time, Span<byte> span) => conversion switch
    {
        '3' => Digits(time.Nanoseconds / 1_000_000, "D3", span),
        'L' => Digits(time.Nanoseconds, "D9", span),
        'Y' => Digits(utc.Year, "D4", span),
        'C' => Digits(utc.Year / 100, "D2", span),
        'y' => Digits(utc.Year % 100, "D2", span),
        'm' => Digits(utc.Month, "D2", span),
        'd' => Digits(utc.Day, "D2", span),
        'e' => Padded(utc.Day, span),
        'H' => Digits(utc.Hour, "D2", span),
        'k' => Padded(utc.Hour, span),
        'I' => Digits(Hour12(utc), "D2", span),
        'l' => Padded(Hour12(utc), span),
        'M' => Digits(utc.Minute, "D2", span),
        'S' => Digits(utc.Second, "D2", span),
        'j' => Digits(utc.DayOfYear, "D3", span),
        'p' => Ascii(utc.Hour < 12 ? "AM" : "PM", span),
        'a' => Ascii(ShortDays[(int)utc.DayOfWeek], span),
        'A' => Ascii(LongDays[(int)utc.DayOfWeek], span),
        'b' or 'h' => Ascii(ShortMonths[utc.Month - 1], span),
        'B' => Ascii(LongMonths[utc.Month - 1], span),
        'u' => Digits(utc.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)utc.DayOfWeek, default, span),
        'w' => Digits((int)utc.DayOfWeek, default, span),
        's' => Digits(time.Seconds, default, span),
        'z' => Ascii("+0000", span),

        // glibc's strftime on a gmtime_r result, as Fluent Bit calls it, names the zone GMT.
        'Z' => Ascii("GMT", span),
        'F' => Date(utc, "yyyy'-'MM'-'dd", span),
        'T' => Date(utc, "HH':'mm':'ss", span),
        'R' => Date(utc, "HH':'mm", span),
        'D' => Date(utc, "MM'/'dd'/'yy", span),
        _ => 0,
    };

    private static int Hour12(DateTime utc) => utc.Hour % 12 == 0 ? 12 : utc.Hour % 12;

    /// <param name="format">A <c>D</c>n zero-padding width, or empty for no padding.</param>
    private static int Digits(long value, ReadOnlySpan<char> format, Span<byte> span)
    {
        value.TryFormat(span, out var n, format, CultureInfo.InvariantCulture);
        return n;
    }

    private static int Date(DateTime utc, ReadOnlySpan<char> format, Span<byte> span)
    {
        utc.TryFormat(span, out var n, format, CultureInfo.InvariantCulture);
        return n;
    }

    private static int Padded(int value, Span<byte> span)
    {
        if (value < 10)
        {
            span[0] = (byte)' ';
            span[1] = (byte)('0' + value);
            return 2;
        }

        return Digits(value, default, span);
    }

    private static int Ascii(string text, Span<byte> span) => Encoding.ASCII.GetBytes(text, span);
}
