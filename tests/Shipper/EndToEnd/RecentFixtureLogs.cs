using System.Globalization;
using System.Text.RegularExpressions;

namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>
/// Moves the copied fixture logs' timestamps to the recent past. CloudWatch Logs (and the fake, which enforces
/// the same rule) rejects events more than 14 days old, and the fixture lines are from 2019-2026: sent as they
/// are, they would be counted as rejected and never land. Only the date-time part changes; the fraction, the
/// content and the order within each file (including the fixtures' out-of-order lines) stay as written.
/// </summary>
internal static partial class RecentFixtureLogs
{
    /// <summary>
    /// Container logs (docker json-file <c>"time"</c>, CRI line prefix): each file's times keep their distance
    /// from the file's first time and start at <paramref name="baseUtc"/>. Syslog files (<c>messages</c>,
    /// <c>secure</c>): line n gets <paramref name="baseUtc"/> + n seconds (syslog has no year; the parser takes
    /// the clock's).
    /// </summary>
    public static void Shift(string varLog, DateTime baseUtc)
    {
        baseUtc = new DateTime(baseUtc.Ticks - (baseUtc.Ticks % TimeSpan.TicksPerSecond), DateTimeKind.Utc);
        foreach (var file in Directory.GetFiles(Path.Combine(varLog, "containers")))
        {
            ShiftIso(file, baseUtc);
        }

        foreach (var name in new[] { "messages", "secure" })
        {
            var path = Path.Combine(varLog, name);
            var lines = File.ReadAllLines(path);
            for (var i = 0; i < lines.Length; i++)
            {
                var at = baseUtc.AddSeconds(i);
                var stamp = string.Create(CultureInfo.InvariantCulture, $"{at:MMM} {at.Day,2} {at:HH:mm:ss}");
                lines[i] = SyslogStamp().Replace(lines[i], stamp, 1);
            }

            File.WriteAllLines(path, lines);
        }
    }

    /// <summary>The time a shifted ISO string stands for (what the shipper reads from the line).</summary>
    public static DateTime ParseIso(string iso) =>
        DateTime.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    private static void ShiftIso(string file, DateTime baseUtc)
    {
        var text = File.ReadAllText(file);
        DateTime? first = null;
        foreach (Match match in IsoSeconds().Matches(text))
        {
            var at = Parse(match.Value);
            first = first is null || at < first ? at : first;
        }

        if (first is null)
        {
            return;
        }

        text = IsoSeconds().Replace(text, m => (baseUtc + (Parse(m.Value) - first.Value)).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture));

        // An access log's own time (nginx's [19/Dec/2019:17:41:12 +0000]) becomes the event time when a pod's
        // parser reads it: it moves to the base too.
        text = AccessLogTime().Replace(text, baseUtc.ToString("dd'/'MMM'/'yyyy':'HH':'mm':'ss", CultureInfo.InvariantCulture));
        File.WriteAllText(file, text);
    }

    private static DateTime Parse(string seconds) =>
        DateTime.ParseExact(seconds, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

    // The seconds part of a runtime timestamp: followed by a fraction and Z (docker, CRI), never a bare date in a message.
    [GeneratedRegex(@"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?=(\.\d+)?Z)")]
    private static partial Regex IsoSeconds();

    [GeneratedRegex(@"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?= \+0000\])")]
    private static partial Regex AccessLogTime();

    [GeneratedRegex(@"^[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}")]
    private static partial Regex SyslogStamp();
}
