using System.Buffers;
using System.Buffers.Text;
using System.Globalization;

namespace Gateway.Engine.Json;

/// <summary>
/// printf-compatible number rendering (glibc semantics) written straight into UTF-8 buffers, so our text matches
/// Fluent Bit's byte for byte: <c>%.16g</c> and <c>%.1f</c> for JSON doubles, <c>%f</c> for msgpack-c's printer
/// and for times.
/// </summary>
internal static class CNumberFormat
{
    public const int MaxLength = 400;

    public static void WriteUInt64(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }

    public static void WriteInt64(IBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        output.Advance(written);
    }

    /// <summary>Fluent Bit's JSON double: <c>%.1f</c> when the value survives a cast to long long, else <c>%.16g</c>.</summary>
    public static void WriteJsonDouble(IBufferWriter<byte> output, double value, bool nanAsNull)
    {
        var span = output.GetSpan(MaxLength);
        int written;
        if (IsIntegralInInt64Range(value))
        {
            written = FormatFixed(value, 1, span);
        }
        else if (nanAsNull && double.IsNaN(value))
        {
            "null"u8.CopyTo(span);
            written = 4;
        }
        else
        {
            written = FormatG(value, 16, span);
        }

        output.Advance(written);
    }

    /// <summary><c>%f</c>: six decimals.</summary>
    public static void WriteFixed6(IBufferWriter<byte> output, double value)
    {
        var span = output.GetSpan(MaxLength);
        output.Advance(FormatFixed(value, 6, span));
    }

    /// <summary><c>%u.%09u</c>: seconds and zero-padded nanoseconds, as Fluent Bit prints event times.</summary>
    public static void WriteSecondsNanos(IBufferWriter<byte> output, ulong seconds, uint nanoseconds)
    {
        var span = output.GetSpan(32);
        Utf8Formatter.TryFormat(seconds, span, out var n);
        span[n++] = (byte)'.';
        Utf8Formatter.TryFormat(nanoseconds, span[n..], out var m, new StandardFormat('D', 9));
        output.Advance(n + m);
    }

    /// <summary>
    /// C's <c>(double)(long long)d == d</c> test. The cast is undefined out of range; x86-64 yields LLONG_MIN there,
    /// so only -2^63 itself still compares equal, which this reproduces.
    /// </summary>
    internal static bool IsIntegralInInt64Range(double value) =>
        value >= -9223372036854775808.0 && value < 9223372036854775808.0 && Math.Floor(value) == value;

    internal static int FormatFixed(double value, int decimals, Span<byte> destination)
    {
        if (!double.IsFinite(value))
        {
            return FormatNonFinite(value, destination);
        }

        Span<char> format = stackalloc char[2];
        format[0] = 'F';
        format[1] = (char)('0' + decimals);
        value.TryFormat(destination, out var written, format, CultureInfo.InvariantCulture);
        return written;
    }

    /// <summary><c>%.{precision}g</c> with glibc's rules: exponent form when exp &lt; -4 or exp &gt;= precision, trailing zeros dropped.</summary>
    internal static int FormatG(double value, int precision, Span<byte> destination)
    {
        if (!double.IsFinite(value))
        {
            return FormatNonFinite(value, destination);
        }

        // "E{p-1}" gives exactly p significant digits, correctly rounded, plus the decimal exponent.
        Span<byte> scientific = stackalloc byte[48];
        Span<char> format = stackalloc char[4];
        format[0] = 'E';
        (precision - 1).TryFormat(format[1..], out var formatDigits, default, CultureInfo.InvariantCulture);
        value.TryFormat(scientific, out var length, format[..(1 + formatDigits)], CultureInfo.InvariantCulture);

        var s = scientific[..length];
        var pos = 0;
        var negative = s[0] == (byte)'-';
        if (negative)
        {
            pos++;
        }

        Span<byte> digits = stackalloc byte[24];
        var digitCount = 0;
        while (pos < s.Length && s[pos] != (byte)'E')
        {
            if (s[pos] != (byte)'.')
            {
                digits[digitCount++] = s[pos];
            }

            pos++;
        }

        pos++; // 'E'
        var exponentNegative = s[pos] == (byte)'-';
        pos++;
        var exponent = 0;
        while (pos < s.Length)
        {
            exponent = (exponent * 10) + (s[pos] - '0');
            pos++;
        }

        if (exponentNegative)
        {
            exponent = -exponent;
        }

        // Trailing zeros never survive %g.
        while (digitCount > 1 && digits[digitCount - 1] == (byte)'0')
        {
            digitCount--;
        }

        var o = 0;
        if (negative)
        {
            destination[o++] = (byte)'-';
        }

        if (exponent < -4 || exponent >= precision)
        {
            destination[o++] = digits[0];
            if (digitCount > 1)
            {
                destination[o++] = (byte)'.';
                digits[1..digitCount].CopyTo(destination[o..]);
                o += digitCount - 1;
            }

            destination[o++] = (byte)'e';
            destination[o++] = exponent < 0 ? (byte)'-' : (byte)'+';
            var abs = Math.Abs(exponent);
            if (abs < 10)
            {
                destination[o++] = (byte)'0';
            }

            Utf8Formatter.TryFormat(abs, destination[o..], out var e);
            return o + e;
        }

        if (exponent >= 0)
        {
            var integerDigits = exponent + 1;
            for (var i = 0; i < integerDigits; i++)
            {
                destination[o++] = i < digitCount ? digits[i] : (byte)'0';
            }

            if (digitCount > integerDigits)
            {
                destination[o++] = (byte)'.';
                digits[integerDigits..digitCount].CopyTo(destination[o..]);
                o += digitCount - integerDigits;
            }

            return o;
        }

        destination[o++] = (byte)'0';
        destination[o++] = (byte)'.';
        for (var i = 0; i < -exponent - 1; i++)
        {
            destination[o++] = (byte)'0';
        }

        digits[..digitCount].CopyTo(destination[o..]);
        return o + digitCount;
    }

    private static int FormatNonFinite(double value, Span<byte> destination)
    {
        // glibc prints the sign bit of NaN too ("-nan").
        var text = double.IsNaN(value)
            ? (double.IsNegative(value) ? "-nan"u8 : "nan"u8)
            : (value < 0 ? "-inf"u8 : "inf"u8);
        text.CopyTo(destination);
        return text.Length;
    }
}
