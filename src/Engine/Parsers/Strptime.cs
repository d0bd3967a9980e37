namespace Gateway.Engine.Parsers;

/// <summary>
/// Broken-down time filled by <see cref="Strptime"/>, like C's <c>struct tm</c> plus Fluent Bit's extras:
/// <see cref="Month"/> is 0-11 (tm_mon), <see cref="Year"/> is the full year, <see cref="Nanoseconds"/> comes from
/// <c>%L</c> and <see cref="OffsetSeconds"/> from <c>%z</c>/<c>%Z</c> (tm_gmtoff, seconds east of UTC).
/// </summary>
public struct StrptimeFields
{
    public int Year;
    public int Month;
    public int Day;
    public int Hour;
    public int Minute;
    public int Second;
    public int YearDay;
    public int WeekDay;
    public long Nanoseconds;
    public int OffsetSeconds;

    /// <summary>True when <c>%z</c>, <c>%Z</c> or <c>%s</c> set <see cref="OffsetSeconds"/>.</summary>
    public bool HasZone;

    /// <summary>Set by <c>%s</c>: seconds since the epoch, which wins over the other fields.</summary>
    public long? EpochSeconds;

    /// <summary>Seconds since the Unix epoch for these fields (timegm(tm) - tm_gmtoff).</summary>
    public readonly long ToUnixSeconds()
    {
        if (EpochSeconds is { } epoch)
        {
            return epoch;
        }

        // Day 0 or 32 and month overflow normalize like timegm(3): count days from the 1st of the month.
        var days = DaysFromCivil(Year + FloorDiv(Month, 12), Mod(Month, 12) + 1, 1) + Day - 1;
        return (days * 86400L) + (Hour * 3600L) + (Minute * 60L) + Second - OffsetSeconds;
    }

    private static int FloorDiv(int a, int b) => (a / b) - ((a % b != 0 && (a < 0) != (b < 0)) ? 1 : 0);

    private static int Mod(int a, int b) => ((a % b) + b) % b;

    /// <summary>Howard Hinnant's days_from_civil: days since 1970-01-01 for a proleptic Gregorian date.</summary>
    private static long DaysFromCivil(long year, int month, int day)
    {
        year -= month <= 2 ? 1 : 0;
        var era = (year >= 0 ? year : year - 399) / 400;
        var yearOfEra = year - (era * 400);
        var dayOfYear = ((153 * (month + (month > 2 ? -3 : 9))) + 2) / 5 + day - 1;
        var dayOfEra = (yearOfEra * 365) + (yearOfEra / 4) - (yearOfEra / 100) + dayOfYear;
        return (era * 146097) + dayOfEra - 719468;
    }
}

/// <summary>
/// strptime(3) as Fluent Bit's <c>flb_strptime</c> (OpenBSD based, C locale) implements it, plus <c>%L</c>
/// (fractional seconds, up to 9 digits) which Fluent Bit handles around strptime in <c>flb_parser_time_lookup</c>.
/// Whitespace in the format matches any run of whitespace; input left over after the format is not an error.
/// </summary>
public static class Strptime
{
    private const int FieldMonth = 1;
    private const int FieldMonthDay = 2;
    private const int FieldWeekDay = 4;
    private const int FieldYearDay = 8;
    private const int FieldYear = 16;

    private static readonly string[] MonthNames =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    private static readonly string[] MonthAbbreviations =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    private static readonly string[] DayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    private static readonly string[] DayAbbreviations = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    /// <summary>RFC 822 zone names <c>%z</c> accepts: EST is -5h, CST -6h, ...; the daylight names one hour later.</summary>
    private static readonly string[] NorthAmericanStandardZones = ["EST", "CST", "MST", "PST"];

    private static readonly string[] NorthAmericanDaylightZones = ["EDT", "CDT", "MDT", "PDT"];

    private static readonly int[][] MonthLengths =
    [
        [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
        [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31],
    ];

    /// <summary>Time zone abbreviations <c>%Z</c> knows (flb_strptime's table), offset in seconds east of UTC.</summary>
    private static readonly (string Name, int Offset)[] KnownZones =
    [
        ("GMT", 0), ("UTC", 0), ("Z", 0), ("UT", 0),
        ("EST", -5 * 3600), ("EDT", -4 * 3600), ("CST", -6 * 3600), ("CDT", -5 * 3600), ("MST", -7 * 3600),
        ("MDT", -6 * 3600), ("PST", -8 * 3600), ("PDT", -7 * 3600), ("AKST", -9 * 3600), ("AKDT", -8 * 3600),
        ("HST", -10 * 3600), ("HADT", -9 * 3600), ("AST", -4 * 3600), ("ADT", -3 * 3600), ("NST", -12600),
        ("NDT", -9000), ("WET", 0), ("WEST", 3600), ("CET", 3600), ("CEST", 7200), ("EET", 7200), ("EEST", 10800),
        ("MSK", 10800), ("ART", -3 * 3600), ("BRT", -3 * 3600), ("BRST", -2 * 3600), ("CLT", -4 * 3600),
        ("CLST", -3 * 3600), ("AEST", 36000), ("AEDT", 39600), ("ACST", 34200), ("ACDT", 37800), ("AWST", 28800),
        ("NZST", 43200), ("NZDT", 46800), ("JST", 32400), ("KST", 32400), ("SGT", 28800), ("IST", 19800),
        ("GST", 14400), ("ICT", 25200), ("WIB", 25200), ("WITA", 28800), ("WIT", 32400), ("MYT", 28800),
        ("BDT", 21600), ("NPT", 20700), ("WAT", 3600), ("CAT", 7200), ("EAT", 10800), ("SAST", 7200),
        ("A", 3600), ("B", 7200), ("C", 10800), ("D", 14400), ("E", 18000), ("F", 21600), ("G", 25200),
        ("H", 28800), ("I", 32400), ("K", 36000), ("L", 39600), ("M", 43200), ("N", -3600), ("O", -7200),
        ("P", -10800), ("Q", -14400), ("R", -18000), ("S", -21600), ("T", -25200), ("U", -28800), ("V", -32400),
        ("W", -36000), ("X", -39600), ("Y", -43200),
    ];

    /// <summary>
    /// Parses <paramref name="input"/> against <paramref name="format"/> into <paramref name="fields"/> (whose
    /// incoming values are the defaults for anything the format does not set).
    /// </summary>
    /// <returns>Characters of input consumed, or -1 when the input does not match; on -1 the fields parsed so far
    /// are left in <paramref name="fields"/> (Fluent Bit uses them when Time_Strict is off).</returns>
    public static int Parse(ReadOnlySpan<char> input, ReadOnlySpan<char> format, ref StrptimeFields fields)
    {
        var state = new ParseState { Century = 1900, RelativeYear = -1 };
        fields.OffsetSeconds = 0;
        fields.HasZone = false;
        var position = 0;
        if (!ParseCore(input, ref position, format, ref fields, ref state))
        {
            return -1;
        }

        Complete(ref fields, ref state);
        return position;
    }

    private static bool ParseCore(ReadOnlySpan<char> input, ref int p, ReadOnlySpan<char> format, ref StrptimeFields tm, ref ParseState state)
    {
        var f = 0;
        while (f < format.Length)
        {
            var c = format[f];
            if (IsSpace(c))
            {
                while (p < input.Length && IsSpace(input[p]))
                {
                    p++;
                }

                f++;
                continue;
            }

            if (p >= input.Length)
            {
                return false;
            }

            f++;
            if (c != '%')
            {
                if (input[p] != c)
                {
                    return false;
                }

                p++;
                continue;
            }

            if (f >= format.Length)
            {
                return false;
            }

            c = format[f++];

            // E and O modifiers select alternative representations that the C locale does not have.
            if (c is 'E' or 'O')
            {
                if (f >= format.Length)
                {
                    return false;
                }

                c = format[f++];
            }

            int value;
            switch (c)
            {
                case '%':
                    if (input[p] != '%')
                    {
                        return false;
                    }

                    p++;
                    break;
                case 'D':
                    if (!ParseCore(input, ref p, "%m/%d/%y", ref tm, ref state))
                    {
                        return false;
                    }

                    break;
                case 'F':
                    if (!ParseCore(input, ref p, "%Y-%m-%d", ref tm, ref state))
                    {
                        return false;
                    }

                    break;
                case 'R':
                    if (!ParseCore(input, ref p, "%H:%M", ref tm, ref state))
                    {
                        return false;
                    }

                    break;
                case 'r':
                    if (!ParseCore(input, ref p, "%I:%M:%S %p", ref tm, ref state))
                    {
                        return false;
                    }

                    break;
                case 'T' or 'X':
                    if (!ParseCore(input, ref p, "%H:%M:%S", ref tm, ref state))
                    {
                        return false;
                    }

                    break;
                case 'x':
                    if (!ParseCore(input, ref p, "%m/%d/%y", ref tm, ref state))
                    {
                        return false;
                    }

                    break;
                case 'c':
                    if (!ParseCore(input, ref p, "%a %b %e %H:%M:%S %Y", ref tm, ref state))
                    {
                        return false;
                    }

                    break;
                case 'A' or 'a':
                    if (!MatchName(input, ref p, DayNames, DayAbbreviations, out value))
                    {
                        return false;
                    }

                    tm.WeekDay = value;
                    state.Fields |= FieldWeekDay;
                    break;
                case 'B' or 'b' or 'h':
                    if (!MatchName(input, ref p, MonthNames, MonthAbbreviations, out value))
                    {
                        return false;
                    }

                    tm.Month = value;
                    state.Fields |= FieldMonth;
                    break;
                case 'C':
                    if (!ConvertNumber(input, ref p, 0, 99, out value))
                    {
                        return false;
                    }

                    state.Century = value * 100;
                    break;
                case 'e' or 'd':
                    if (c == 'e' && IsSpace(input[p]))
                    {
                        p++;
                    }

                    if (!ConvertNumber(input, ref p, 1, 31, out value))
                    {
                        return false;
                    }

                    tm.Day = value;
                    state.Fields |= FieldMonthDay;
                    break;
                case 'k' or 'H':
                    if (!ConvertNumber(input, ref p, 0, 23, out value))
                    {
                        return false;
                    }

                    tm.Hour = value;
                    break;
                case 'l' or 'I':
                    if (!ConvertNumber(input, ref p, 1, 12, out value))
                    {
                        return false;
                    }

                    tm.Hour = value;
                    break;
                case 'j':
                    if (!ConvertNumber(input, ref p, 1, 366, out value))
                    {
                        return false;
                    }

                    tm.YearDay = value - 1;
                    state.Fields |= FieldYearDay;
                    break;
                case 'M':
                    if (!ConvertNumber(input, ref p, 0, 59, out value))
                    {
                        return false;
                    }

                    tm.Minute = value;
                    break;
                case 'm':
                    if (!ConvertNumber(input, ref p, 1, 12, out value))
                    {
                        return false;
                    }

                    tm.Month = value - 1;
                    state.Fields |= FieldMonth;
                    break;
                case 'p':
                    if (StartsWithIgnoreCase(input[p..], "AM"))
                    {
                        if (tm.Hour > 12)
                        {
                            return false;
                        }

                        if (tm.Hour == 12)
                        {
                            tm.Hour = 0;
                        }

                        p += 2;
                    }
                    else if (StartsWithIgnoreCase(input[p..], "PM"))
                    {
                        if (tm.Hour > 12)
                        {
                            return false;
                        }

                        if (tm.Hour < 12)
                        {
                            tm.Hour += 12;
                        }

                        p += 2;
                    }
                    else
                    {
                        return false;
                    }

                    break;
                case 'S':
                    if (!ConvertNumber(input, ref p, 0, 60, out value))
                    {
                        return false;
                    }

                    tm.Second = value;
                    break;
                case 'L':
                    if (!ParseFraction(input, ref p, out var nanoseconds))
                    {
                        return false;
                    }

                    tm.Nanoseconds = nanoseconds;
                    break;
                case 's':
                    if (!ConvertEpoch(input, ref p, out var epoch))
                    {
                        return false;
                    }

                    SetFromEpoch(ref tm, epoch);
                    state.Fields = 0xffff;
                    break;
                case 'U' or 'W' or 'V':
                    if (!ConvertNumber(input, ref p, 0, 53, out _))
                    {
                        return false;
                    }

                    break;
                case 'w':
                    if (!ConvertNumber(input, ref p, 0, 6, out value))
                    {
                        return false;
                    }

                    tm.WeekDay = value;
                    state.Fields |= FieldWeekDay;
                    break;
                case 'u':
                    if (!ConvertNumber(input, ref p, 1, 7, out value))
                    {
                        return false;
                    }

                    tm.WeekDay = value % 7;
                    state.Fields |= FieldWeekDay;
                    break;
                case 'g':
                    if (!ConvertNumber(input, ref p, 0, 99, out _))
                    {
                        return false;
                    }

                    break;
                case 'G':
                    do
                    {
                        p++;
                    }
                    while (p < input.Length && char.IsAsciiDigit(input[p]));
                    break;
                case 'Y':
                    if (!ConvertNumber(input, ref p, 0, 9999, out value))
                    {
                        return false;
                    }

                    state.RelativeYear = -1;
                    tm.Year = value;
                    state.Fields |= FieldYear;
                    break;
                case 'y':
                    if (!ConvertNumber(input, ref p, 0, 99, out value))
                    {
                        return false;
                    }

                    state.RelativeYear = value;
                    break;
                case 'Z':
                    if (!ParseZoneName(input, ref p, ref tm))
                    {
                        return false;
                    }

                    break;
                case 'z':
                    if (!ParseZoneOffset(input, ref p, ref tm))
                    {
                        return false;
                    }

                    break;
                case 'n' or 't':
                    while (p < input.Length && IsSpace(input[p]))
                    {
                        p++;
                    }

                    break;
                default:
                    // Unknown conversion, as in flb_strptime.
                    return false;
            }
        }

        return true;
    }

    /// <summary>The derivations flb_strptime does after a successful parse (two-digit years, yday to month/day).</summary>
    private static void Complete(ref StrptimeFields tm, ref ParseState state)
    {
        if (state.RelativeYear != -1)
        {
            tm.Year = state.Century == 1900
                ? (state.RelativeYear <= 68 ? state.RelativeYear + 2000 : state.RelativeYear + 1900)
                : state.RelativeYear + state.Century;
            state.Fields |= FieldYear;
        }

        if ((state.Fields & FieldYear) == 0 || tm.EpochSeconds is not null)
        {
            return;
        }

        var lengths = MonthLengths[IsLeap(tm.Year) ? 1 : 0];
        if ((state.Fields & FieldYearDay) == 0 && (state.Fields & FieldMonth) != 0 && (state.Fields & FieldMonthDay) != 0)
        {
            tm.YearDay = tm.Day - 1;
            for (var i = 0; i < tm.Month && i < 12; i++)
            {
                tm.YearDay += lengths[i];
            }

            state.Fields |= FieldYearDay;
        }

        if ((state.Fields & FieldYearDay) != 0)
        {
            var days = tm.YearDay;
            if ((state.Fields & FieldMonth) == 0)
            {
                tm.Month = 0;
                while (tm.Month < 12 && days >= lengths[tm.Month])
                {
                    days -= lengths[tm.Month++];
                }
            }

            if ((state.Fields & FieldMonthDay) == 0)
            {
                tm.Day = days + 1;
            }
        }
    }

    /// <summary>
    /// flb_strptime's <c>_conv_num</c>: reads digits while the value can still grow within <paramref name="max"/>,
    /// so <c>%d</c> on "45" reads just "4".
    /// </summary>
    private static bool ConvertNumber(ReadOnlySpan<char> input, ref int p, int min, int max, out int value)
    {
        value = 0;
        if (p >= input.Length || !char.IsAsciiDigit(input[p]))
        {
            return false;
        }

        var result = 0;
        var remainingLimit = max;
        do
        {
            result = (result * 10) + (input[p++] - '0');
            remainingLimit /= 10;
        }
        while (result * 10 <= max && remainingLimit != 0 && p < input.Length && char.IsAsciiDigit(input[p]));

        if (result < min || result > max)
        {
            return false;
        }

        value = result;
        return true;
    }

    private static bool ConvertEpoch(ReadOnlySpan<char> input, ref int p, out long value)
    {
        value = 0;
        if (p >= input.Length || !char.IsAsciiDigit(input[p]))
        {
            return false;
        }

        long result = 0;
        while (p < input.Length && char.IsAsciiDigit(input[p]))
        {
            if (result >= 922337203685477580L)
            {
                return false;
            }

            result = (result * 10) + (input[p++] - '0');
        }

        value = result;
        return true;
    }

    /// <summary>
    /// <c>%L</c>: like Fluent Bit's parse_subseconds, up to 9 digits are read as a fraction of a second; extra
    /// digits stay in the input.
    /// </summary>
    private static bool ParseFraction(ReadOnlySpan<char> input, ref int p, out long nanoseconds)
    {
        nanoseconds = 0;
        var digits = 0;
        while (digits < 9 && p < input.Length && char.IsAsciiDigit(input[p]))
        {
            nanoseconds = (nanoseconds * 10) + (input[p++] - '0');
            digits++;
        }

        if (digits == 0)
        {
            return false;
        }

        for (var i = digits; i < 9; i++)
        {
            nanoseconds *= 10;
        }

        return true;
    }

    private static void SetFromEpoch(ref StrptimeFields tm, long epoch)
    {
        tm.EpochSeconds = epoch;
        tm.OffsetSeconds = 0;
        tm.HasZone = true;
        if (epoch <= DateTimeOffset.MaxValue.ToUnixTimeSeconds())
        {
            var utc = DateTimeOffset.FromUnixTimeSeconds(epoch).UtcDateTime;
            tm.Year = utc.Year;
            tm.Month = utc.Month - 1;
            tm.Day = utc.Day;
            tm.Hour = utc.Hour;
            tm.Minute = utc.Minute;
            tm.Second = utc.Second;
            tm.YearDay = utc.DayOfYear - 1;
            tm.WeekDay = (int)utc.DayOfWeek;
        }
    }

    private static bool ParseZoneName(ReadOnlySpan<char> input, ref int p, ref StrptimeFields tm)
    {
        var rest = input[p..];
        foreach (var (name, offset) in KnownZones)
        {
            if (StartsWithIgnoreCase(rest, name) && (rest.Length == name.Length || !char.IsAsciiLetterOrDigit(rest[name.Length])))
            {
                tm.OffsetSeconds = offset;
                tm.HasZone = true;
                p += name.Length;
                return true;
            }
        }

        if (rest.StartsWith("GMT", StringComparison.Ordinal) || rest.StartsWith("UTC", StringComparison.Ordinal))
        {
            tm.OffsetSeconds = 0;
            tm.HasZone = true;
            p += 3;
            return true;
        }

        // flb_strptime falls back to the host's tzname; Gateway runs in UTC containers, so nothing else matches.
        return false;
    }

    private static bool ParseZoneOffset(ReadOnlySpan<char> input, ref int p, ref StrptimeFields tm)
    {
        while (p < input.Length && IsSpace(input[p]))
        {
            p++;
        }

        if (p >= input.Length)
        {
            return false;
        }

        var negative = false;
        switch (input[p++])
        {
            case 'G':
                if (p + 1 >= input.Length || input[p] != 'M' || input[p + 1] != 'T')
                {
                    return false;
                }

                p += 2;
                SetZone(ref tm, 0);
                return true;
            case 'U':
                if (p >= input.Length || input[p] != 'T')
                {
                    return false;
                }

                p++;
                if (p < input.Length && input[p] == 'C')
                {
                    p++;
                }

                SetZone(ref tm, 0);
                return true;
            case 'Z':
                SetZone(ref tm, 0);
                return true;
            case '+':
                break;
            case '-':
                negative = true;
                break;
            default:
                p--;
                for (var i = 0; i < 4; i++)
                {
                    if (StartsWithIgnoreCase(input[p..], NorthAmericanStandardZones[i]))
                    {
                        p += 3;
                        SetZone(ref tm, (-5 - i) * 3600);
                        return true;
                    }

                    if (StartsWithIgnoreCase(input[p..], NorthAmericanDaylightZones[i]))
                    {
                        p += 3;
                        SetZone(ref tm, (-4 - i) * 3600);
                        return true;
                    }
                }

                return false;
        }

        if (p + 1 >= input.Length || !char.IsAsciiDigit(input[p]) || !char.IsAsciiDigit(input[p + 1]))
        {
            return false;
        }

        var offset = (((input[p] - '0') * 10) + (input[p + 1] - '0')) * 3600;
        p += 2;
        if (p < input.Length && input[p] == ':')
        {
            p++;
        }

        if (p < input.Length && char.IsAsciiDigit(input[p]))
        {
            offset += (input[p++] - '0') * 600;
            if (p >= input.Length || !char.IsAsciiDigit(input[p]))
            {
                return false;
            }

            offset += (input[p++] - '0') * 60;
        }

        SetZone(ref tm, negative ? -offset : offset);
        return true;
    }

    private static void SetZone(ref StrptimeFields tm, int offset)
    {
        tm.OffsetSeconds = offset;
        tm.HasZone = true;
    }

    /// <summary>Full names are tried before abbreviations for each entry, as the C code does.</summary>
    private static bool MatchName(ReadOnlySpan<char> input, ref int p, string[] full, string[] abbreviated, out int index)
    {
        var rest = input[p..];
        for (index = 0; index < full.Length; index++)
        {
            if (StartsWithIgnoreCase(rest, full[index]))
            {
                p += full[index].Length;
                return true;
            }

            if (StartsWithIgnoreCase(rest, abbreviated[index]))
            {
                p += abbreviated[index].Length;
                return true;
            }
        }

        return false;
    }

    private static bool StartsWithIgnoreCase(ReadOnlySpan<char> text, string prefix) =>
        text.StartsWith(prefix, StringComparison.OrdinalIgnoreCase);

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\v' or '\f' or '\r';

    private static bool IsLeap(int year) => year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);

    private struct ParseState
    {
        public int Century;
        public int RelativeYear;
        public int Fields;
    }
}
