using System.Buffers;
using System.Text;
using Gateway.Engine.Json;

namespace Gateway.Engine.Tests.Json;

public sealed class CNumberFormatTests
{
    [Theory]
    [InlineData(1700000000.5, "1700000000.500000")]
    [InlineData(0.0000004, "0.000000")]
    [InlineData(-1.25, "-1.250000")]
    [InlineData(2.0000005, "2.000001")]
    public void Fixed6_matches_printf_percent_f(double value, string expected)
    {
        var output = new ArrayBufferWriter<byte>();
        CNumberFormat.WriteFixed6(output, value);
        Assert.Equal(expected, Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Seconds_and_nanoseconds_are_zero_padded()
    {
        var output = new ArrayBufferWriter<byte>();
        CNumberFormat.WriteSecondsNanos(output, 1700000000, 5);
        Assert.Equal("1700000000.000000005", Encoding.ASCII.GetString(output.WrittenSpan));
    }

    [Theory]
    [InlineData(100.0, "100")]
    [InlineData(1234567890123456.0, "1234567890123456")]
    [InlineData(12345678901234567.0, "1.234567890123457e+16")]
    [InlineData(0.5, "0.5")]
    public void G16_matches_printf(double value, string expected)
    {
        var span = new byte[64];
        var n = CNumberFormat.FormatG(value, 16, span);
        Assert.Equal(expected, Encoding.ASCII.GetString(span, 0, n));
    }
}
