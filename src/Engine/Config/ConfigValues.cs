using System.Globalization;

namespace Gateway.Engine.Config;

/// <summary>
/// Typed reading of config values with Fluent Bit's rules (<c>flb_utils_bool</c>, <c>flb_utils_size_to_bytes</c>,
/// <c>flb_utils_time_to_seconds</c>). The <c>Parse*</c> methods return null for a bad value; the <c>Get*</c>
/// methods read a section key, fall back to a default when it is absent and record a diagnostic naming the file,
/// line, key and value when it is bad.
/// </summary>
public static class ConfigValues
{
    private const long Kilo = 1000;
    private const long Mega = 1000 * Kilo;
    private const long Giga = 1000 * Mega;

    /// <summary><c>on/off</c>, <c>true/false</c>, <c>yes/no</c>, case-insensitive.</summary>
    public static bool? ParseBool(string value)
    {
        var v = value.AsSpan().Trim();
        if (v.Equals("on", StringComparison.OrdinalIgnoreCase) || v.Equals("true", StringComparison.OrdinalIgnoreCase)
            || v.Equals("yes", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (v.Equals("off", StringComparison.OrdinalIgnoreCase) || v.Equals("false", StringComparison.OrdinalIgnoreCase)
            || v.Equals("no", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return null;
    }

    /// <summary>
    /// Bytes from <c>5MB</c>, <c>5M</c>, <c>50k</c>, <c>1G</c>, <c>1024</c> or <c>false</c> (= 0). Units are
    /// decimal (1K = 1000), as in <c>flb_utils_size_to_bytes</c>. Unlike Fluent Bit's <c>atoll</c>, text such as
    /// <c>5.5M</c> or <c>5 MB</c> is rejected instead of being read as something else.
    /// </summary>
    public static long? ParseSize(string value)
    {
        var v = value.AsSpan().Trim();
        if (v.Equals("false", StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }

        var digits = 0;
        while (digits < v.Length && char.IsAsciiDigit(v[digits]))
        {
            digits++;
        }

        if (digits == 0 || !long.TryParse(v[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var unit = v[digits..];
        if (unit.Length == 0)
        {
            return number;
        }

        if (unit.Length > 2 || (unit.Length == 2 && char.ToUpperInvariant(unit[1]) != 'B'))
        {
            return null;
        }

        var multiplier = char.ToUpperInvariant(unit[0]) switch
        {
            'K' => Kilo,
            'M' => Mega,
            'G' => Giga,
            _ => 0L,
        };
        if (multiplier == 0 || number > long.MaxValue / multiplier)
        {
            return null;
        }

        return number * multiplier;
    }

    /// <summary>
    /// A duration: a number of seconds (fractions allowed, e.g. <c>Flush 0.5</c>) with an optional unit suffix
    /// <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c> as <c>flb_utils_time_to_seconds</c> accepts.
    /// </summary>
    public static TimeSpan? ParseDuration(string value)
    {
        var v = value.AsSpan().Trim();
        if (v.Length == 0)
        {
            return null;
        }

        double unitSeconds = 1;
        switch (char.ToLowerInvariant(v[^1]))
        {
            case 's':
                v = v[..^1];
                break;
            case 'm':
                unitSeconds = 60;
                v = v[..^1];
                break;
            case 'h':
                unitSeconds = 3600;
                v = v[..^1];
                break;
            case 'd':
                unitSeconds = 86400;
                v = v[..^1];
                break;
        }

        if (v.Length == 0 || !char.IsAsciiDigit(v[0])
            || !double.TryParse(v, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            return null;
        }

        var seconds = number * unitSeconds;
        if (double.IsNaN(seconds) || seconds > TimeSpan.MaxValue.TotalSeconds)
        {
            return null;
        }

        return TimeSpan.FromSeconds(seconds);
    }

    /// <summary>A whole decimal number, optionally negative.</summary>
    public static long? ParseInteger(string value) =>
        long.TryParse(value.AsSpan().Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) ? n : null;

    /// <summary>A decimal number such as <c>0.5</c> or <c>-3</c>.</summary>
    public static double? ParseDouble(string value) =>
        double.TryParse(value.AsSpan().Trim(), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)
            ? n
            : null;

    public static bool TryParseBool(ConfigEntry entry, out bool value, out ConfigDiagnostic? diagnostic)
    {
        var parsed = ParseBool(entry.Value);
        value = parsed.GetValueOrDefault();
        diagnostic = parsed is null ? Bad(entry, "a boolean (on/off, true/false, yes/no)") : null;
        return parsed is not null;
    }

    public static bool TryParseSize(ConfigEntry entry, out long bytes, out ConfigDiagnostic? diagnostic)
    {
        var parsed = ParseSize(entry.Value);
        bytes = parsed.GetValueOrDefault();
        diagnostic = parsed is null ? Bad(entry, "a size such as 5MB, 5M, 50k, 1G or a number of bytes") : null;
        return parsed is not null;
    }

    public static bool TryParseDuration(ConfigEntry entry, out TimeSpan duration, out ConfigDiagnostic? diagnostic)
    {
        var parsed = ParseDuration(entry.Value);
        duration = parsed.GetValueOrDefault();
        diagnostic = parsed is null ? Bad(entry, "a duration in seconds, optionally with a unit (e.g. 5, 0.5, 30s, 10m, 2h, 1d)") : null;
        return parsed is not null;
    }

    public static bool TryParseInteger(ConfigEntry entry, out long number, out ConfigDiagnostic? diagnostic)
    {
        var parsed = ParseInteger(entry.Value);
        number = parsed.GetValueOrDefault();
        diagnostic = parsed is null ? Bad(entry, "a whole number") : null;
        return parsed is not null;
    }

    /// <summary>The section's <paramref name="key"/> as a boolean; <paramref name="defaultValue"/> when absent or bad.</summary>
    public static bool GetBool(ConfigSection section, string key, bool defaultValue, ICollection<ConfigDiagnostic> diagnostics) =>
        Get(section, key, defaultValue, diagnostics, TryParseBool);

    /// <summary>The section's <paramref name="key"/> as bytes; <paramref name="defaultValue"/> when absent or bad.</summary>
    public static long GetSize(ConfigSection section, string key, long defaultValue, ICollection<ConfigDiagnostic> diagnostics) =>
        Get(section, key, defaultValue, diagnostics, TryParseSize);

    /// <summary>The section's <paramref name="key"/> as a duration; <paramref name="defaultValue"/> when absent or bad.</summary>
    public static TimeSpan GetDuration(ConfigSection section, string key, TimeSpan defaultValue, ICollection<ConfigDiagnostic> diagnostics) =>
        Get(section, key, defaultValue, diagnostics, TryParseDuration);

    /// <summary>The section's <paramref name="key"/> as a whole number; <paramref name="defaultValue"/> when absent or bad.</summary>
    public static long GetInteger(ConfigSection section, string key, long defaultValue, ICollection<ConfigDiagnostic> diagnostics) =>
        Get(section, key, defaultValue, diagnostics, TryParseInteger);

    private delegate bool EntryParser<T>(ConfigEntry entry, out T value, out ConfigDiagnostic? diagnostic);

    private static T Get<T>(ConfigSection section, string key, T defaultValue, ICollection<ConfigDiagnostic> diagnostics, EntryParser<T> parse)
    {
        var entry = section.Find(key);
        if (entry is null)
        {
            return defaultValue;
        }

        if (parse(entry, out var value, out var diagnostic))
        {
            return value;
        }

        diagnostics.Add(diagnostic!);
        return defaultValue;
    }

    private static ConfigDiagnostic Bad(ConfigEntry entry, string expected) =>
        new(entry.Location, DiagnosticSeverity.Error, $"{entry.Key}: '{entry.Value}' is not {expected}");

    // The throwing readers below are for components that build their options once at start-up and stop on the
    // first bad value (the host turns the ConfigException into a file:line message and a non-zero exit).

    /// <summary>The entry as a boolean, <paramref name="fallback"/> when absent; throws <see cref="ConfigException"/> when bad.</summary>
    public static bool Bool(ConfigEntry? entry, bool fallback)
    {
        if (entry is null)
        {
            return fallback;
        }

        return ParseBool(entry.Value) ?? throw new ConfigException(entry.Location, $"{entry.Key} '{entry.Value}' is not on/off");
    }

    /// <summary>The entry as a whole number within [min, max], <paramref name="fallback"/> when absent.</summary>
    public static long Integer(ConfigEntry? entry, long fallback, long min, long max)
    {
        if (entry is null)
        {
            return fallback;
        }

        var value = ParseInteger(entry.Value) ?? throw new ConfigException(entry.Location, $"{entry.Key} '{entry.Value}' is not an integer");
        if (value < min || value > max)
        {
            throw new ConfigException(entry.Location, $"{entry.Key} {value} is outside {min}..{max}");
        }

        return value;
    }

    /// <summary>The entry as bytes (at least <paramref name="min"/>), <paramref name="fallback"/> when absent.</summary>
    public static long Size(ConfigEntry? entry, long fallback, long min) => OptionalSize(entry, min) ?? fallback;

    /// <summary>The entry as bytes (at least <paramref name="min"/>), null when absent.</summary>
    public static long? OptionalSize(ConfigEntry? entry, long min)
    {
        if (entry is null)
        {
            return null;
        }

        if (ParseSize(entry.Value) is { } bytes && bytes >= min)
        {
            return bytes;
        }

        throw new ConfigException(
            entry.Location, $"{entry.Key} '{entry.Value}' is not a size of at least {min} bytes (e.g. 512K, 5M, 1G)");
    }
}
