using Gateway.Engine.Parsers;

namespace Gateway.Engine.Tests.Parsers;

public sealed class StrptimeTests
{
    private static (long Seconds, long Nanos, int Consumed) Parse(string input, string format)
    {
        var fields = new StrptimeFields { Year = 1900 };
        var consumed = Strptime.Parse(input, format, ref fields);
        return (fields.ToUnixSeconds(), fields.Nanoseconds, consumed);
    }

    private static long Unix(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds();

    [Theory]
    [InlineData("2019-12-28T08:19:53", "%Y-%m-%dT%H:%M:%S", "2019-12-28T08:19:53Z")]
    [InlineData("10/Oct/2000:13:55:36 -0700", "%d/%b/%Y:%H:%M:%S %z", "2000-10-10T20:55:36Z")]
    [InlineData("2024-01-01 09:00:00 +09:00", "%Y-%m-%d %H:%M:%S %z", "2024-01-01T00:00:00Z")]
    [InlineData("2024-01-01 09:00:00+0530", "%Y-%m-%d %H:%M:%S%z", "2024-01-01T03:30:00Z")]
    [InlineData("2024-01-01 09:00:00 Z", "%Y-%m-%d %H:%M:%S %z", "2024-01-01T09:00:00Z")]
    [InlineData("2024-01-01 09:00:00 JST", "%Y-%m-%d %H:%M:%S %Z", "2024-01-01T00:00:00Z")]
    [InlineData("2024-01-01 09:00:00 UTC", "%Y-%m-%d %H:%M:%S %Z", "2024-01-01T09:00:00Z")]
    [InlineData("2024-01-01 09:00:00 EST", "%Y-%m-%d %H:%M:%S %z", "2024-01-01T14:00:00Z")]
    [InlineData("Tue,  5 March 2024 10:11:12", "%a, %e %B %Y %T", "2024-03-05T10:11:12Z")]
    [InlineData("Tuesday 05 Mar 2024", "%A %d %b %Y", "2024-03-05T00:00:00Z")]
    [InlineData("03/05/24 10:11", "%D %R", "2024-03-05T10:11:00Z")]
    [InlineData("2024-03-05", "%F", "2024-03-05T00:00:00Z")]
    [InlineData("2024 60", "%Y %j", "2024-02-29T00:00:00Z")]
    [InlineData("69-01-01", "%y-%m-%d", "1969-01-01T00:00:00Z")]
    [InlineData("68-01-01", "%y-%m-%d", "2068-01-01T00:00:00Z")]
    [InlineData("19 99-01-01", "%C %y-%m-%d", "1999-01-01T00:00:00Z")]
    [InlineData("1577521193", "%s", "2019-12-28T08:19:53Z")]
    [InlineData("20241231", "%Y%m%d", "2024-12-31T00:00:00Z")]
    [InlineData("12:30:00 AM 2024-01-01", "%I:%M:%S %p %F", "2024-01-01T00:30:00Z")]
    [InlineData("01:30:00 pm 2024-01-01", "%r %F", "2024-01-01T13:30:00Z")]
    [InlineData("100% 2024-01-01", "100%% %F", "2024-01-01T00:00:00Z")]
    [InlineData("2024-01-01   \t10:00", "%F %H:%M", "2024-01-01T10:00:00Z")]
    public void Parses_conversions_like_flb_strptime(string input, string format, string expectedUtc)
    {
        var (seconds, _, consumed) = Parse(input, format);

        Assert.Equal(input.Length, consumed);
        Assert.Equal(Unix(expectedUtc), seconds);
    }

    [Theory]
    [InlineData("2019-12-28T08:19:53.704659587Z", "%Y-%m-%dT%H:%M:%S.%LZ", 704_659_587L)]
    [InlineData("2019-12-28T08:19:53.5Z", "%Y-%m-%dT%H:%M:%S.%LZ", 500_000_000L)]
    [InlineData("2019-12-28T08:19:53.123+0000", "%Y-%m-%dT%H:%M:%S.%L%z", 123_000_000L)]
    public void L_reads_up_to_nine_fraction_digits(string input, string format, long nanos)
    {
        var (seconds, parsedNanos, consumed) = Parse(input, format);

        Assert.Equal(input.Length, consumed);
        Assert.Equal(Unix("2019-12-28T08:19:53Z"), seconds);
        Assert.Equal(nanos, parsedNanos);
    }

    [Fact]
    public void L_with_offset_converts_to_utc()
    {
        var (seconds, nanos, _) = Parse("2019-12-28T08:19:53.250+09:00", "%Y-%m-%dT%H:%M:%S.%L%z");

        Assert.Equal(Unix("2019-12-27T23:19:53Z"), seconds);
        Assert.Equal(250_000_000L, nanos);
    }

    [Fact]
    public void Input_after_the_format_is_left_over_not_an_error()
    {
        var (seconds, nanos, consumed) = Parse("2019-12-28T08:19:53.1234567891Z", "%Y-%m-%dT%H:%M:%S.%L");

        Assert.Equal(Unix("2019-12-28T08:19:53Z"), seconds);
        Assert.Equal(123_456_789L, nanos);
        Assert.Equal(29, consumed);
    }

    [Theory]
    [InlineData("2019-12-28", "%Y/%m/%d")]
    [InlineData("2019-13-01", "%Y-%m-%d")]
    [InlineData("2019-12-32", "%Y-%m-%d")]
    [InlineData("Foo 01", "%b %d")]
    [InlineData("2019-12", "%Y-%m-%d")]
    [InlineData("08:19", "%H:%M:%S")]
    [InlineData("2019", "%Y %Q")]
    [InlineData("12:00:00 XM", "%I:%M:%S %p")]
    [InlineData("10:00 +9", "%H:%M %z")]
    [InlineData("10:00 ABC", "%H:%M %Z")]
    [InlineData("x.", "%S.%L")]
    public void Mismatches_return_minus_one(string input, string format)
    {
        var fields = new StrptimeFields { Year = 1900 };

        Assert.Equal(-1, Strptime.Parse(input, format, ref fields));
    }

    [Fact]
    public void Numbers_stop_when_the_next_digit_would_exceed_the_range()
    {
        // _conv_num: %d reads "4" from "45" because 45 > 31, leaving "5" for the literal.
        var fields = new StrptimeFields { Year = 2024 };

        Assert.Equal(2, Strptime.Parse("45", "%d5", ref fields));
        Assert.Equal(4, fields.Day);
    }

    [Fact]
    public void Month_and_day_are_derived_from_day_of_year()
    {
        var fields = new StrptimeFields();

        Strptime.Parse("2023 365", "%Y %j", ref fields);

        Assert.Equal(11, fields.Month);
        Assert.Equal(31, fields.Day);
    }
}
