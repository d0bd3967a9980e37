using Gateway.Engine.Records;

namespace Gateway.Shipper.Container;

/// <summary>
/// Parses the RFC 3339 nanosecond timestamps container runtimes write, the way Fluent Bit's built-in parsers
/// read them: docker's json-file <c>time</c> with <c>%Y-%m-%dT%H:%M:%S.%L</c> (anything after the fraction,
/// including a zone, is ignored and the time is UTC) and CRI's with <c>%Y-%m-%dT%H:%M:%S.%L%z</c> (the zone,
/// <c>Z</c> or <c>±hh:mm</c>/<c>±hhmm</c>, is applied).
/// </summary>
internal static class ContainerTime
{
    public static bool TryParse(ReadOnlySpan<byte> s, bool applyZone, out EventTime time)
    {
        time = default;
        if (s.Length < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
        {
            return false;
        }

        if (!TryDigits(s[..4], out var year) || !TryDigits(s[5..7], out var month) || !TryDigits(s[8..10], out var day)
            || !TryDigits(s[11..13], out var hour) || !TryDigits(s[14..16], out var minute) || !TryDigits(s[17..19], out var second))
        {
            return false;
        }

        if (month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 60)
        {
            return false;
        }

        var pos = 19;
        long nanos = 0;
        if (pos < s.Length && s[pos] == '.')
        {
            pos++;
            var digits = 0;
            while (pos < s.Length && s[pos] >= '0' && s[pos] <= '9')
            {
                if (digits < 9)
                {
                    nanos = (nanos * 10) + (s[pos] - '0');
                }

                digits++;
                pos++;
            }

            for (var d = digits; d < 9; d++)
            {
                nanos *= 10;
            }
        }

        long offsetSeconds = 0;
        if (applyZone)
        {
            if (pos >= s.Length)
            {
                return false;
            }

            if (s[pos] == 'Z' || s[pos] == 'z')
            {
                offsetSeconds = 0;
            }
            else if (s[pos] == '+' || s[pos] == '-')
            {
                var sign = s[pos] == '-' ? -1 : 1;
                var zone = s[(pos + 1)..];
                int zh;
                int zm;
                if (zone.Length >= 5 && zone[2] == ':' && TryDigits(zone[..2], out zh) && TryDigits(zone[3..5], out zm))
                {
                }
                else if (zone.Length >= 4 && TryDigits(zone[..2], out zh) && TryDigits(zone[2..4], out zm))
                {
                }
                else
                {
                    return false;
                }

                offsetSeconds = sign * ((zh * 3600L) + (zm * 60L));
            }
            else
            {
                return false;
            }
        }

        var days = new DateTime(year, month, day, 0, 0, 0, DateTimeKind.Utc).Ticks / TimeSpan.TicksPerDay
                   - (DateTime.UnixEpoch.Ticks / TimeSpan.TicksPerDay);
        var seconds = (days * 86400L) + (hour * 3600L) + (minute * 60L) + second - offsetSeconds;
        if (seconds < 0 || seconds > uint.MaxValue)
        {
            return false;
        }

        time = new EventTime((uint)seconds, (uint)nanos);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<byte> s, out int value)
    {
        value = 0;
        foreach (var c in s)
        {
            if (c < '0' || c > '9')
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}
