using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>
/// Fluent Bit's <c>s3_key_format</c>: <c>$TAG[n]</c> (the tag split on <c>s3_key_format_tag_delimiters</c> the way
/// strtok splits, at most 10 parts), then <c>$TAG</c>, <c>$INDEX</c> (a per-bucket counter kept in store_dir) and
/// <c>$UUID</c> (8 random alphanumerics), then strftime on the object's first record time in UTC. As Fluent Bit,
/// an out-of-range <c>$TAG[n]</c> is left for the <c>$TAG</c> pass, a key longer than 1,024 bytes is cut, and
/// the leading <c>/</c> is the URI separator, not part of the key. Rendered once per object, never per record.
/// </summary>
internal sealed class S3KeyFormat
{
    public const string DefaultFormat = "/fluent-bit-logs/$TAG/%Y/%m/%d/%H/%M/%S";
    private const int MaxTagParts = 10;
    private const int MaxKeyBytes = 1024;
    private const string Alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public S3KeyFormat(string format, string tagDelimiters, bool staticFilePath)
    {
        Format = format;
        TagDelimiters = tagDelimiters.Length == 0 ? "." : tagDelimiters;
        StaticFilePath = staticFilePath;
        HasUuid = format.Contains("$UUID", StringComparison.Ordinal);
        HasIndex = format.Contains("$INDEX", StringComparison.Ordinal);
    }

    public string Format { get; }

    public string TagDelimiters { get; }

    public bool StaticFilePath { get; }

    public bool HasUuid { get; }

    public bool HasIndex { get; }

    /// <summary>
    /// Fluent Bit appends <c>-object</c> and 8 random characters to PutObject keys when the format has no
    /// <c>$UUID</c> and <c>static_file_path</c> is off, so two uploads in the same second do not overwrite each
    /// other (the store applies it to multipart objects too, for the same reason).
    /// </summary>
    public bool AppendsObjectSuffix => !HasUuid && !StaticFilePath;

    /// <summary>The object key for a tag, the first record's time (Unix seconds) and the object's index.</summary>
    public string Render(string tag, long firstRecordSeconds, ulong index, string uuid)
    {
        var key = new StringBuilder(Format);
        var partCount = 0;
        foreach (var part in tag.Split(TagDelimiters.ToCharArray(), StringSplitOptions.RemoveEmptyEntries))
        {
            if (partCount == MaxTagParts)
            {
                break;
            }

            key.Replace("$TAG[" + partCount.ToString(CultureInfo.InvariantCulture) + "]", part);
            partCount++;
        }

        key.Replace("$TAG", tag);
        key.Replace("$INDEX", index.ToString(CultureInfo.InvariantCulture));
        key.Replace("$UUID", uuid);
        var text = Strftime(key.ToString(), DateTimeOffset.FromUnixTimeSeconds(firstRecordSeconds));
        if (text.StartsWith('/'))
        {
            text = text[1..];
        }

        return CutToKeyLimit(text);
    }

    /// <summary>The object key for <paramref name="key"/>, with Fluent Bit's <c>-object</c> suffix when it applies.</summary>
    public string WithObjectSuffix(string key, string suffix) => AppendsObjectSuffix ? CutToKeyLimit(key + "-object" + suffix) : key;

    public static string RandomAlphanumerics(int length) => RandomNumberGenerator.GetString(Alphanumerics, length);

    /// <summary>C strftime for the conversions keys use; unknown ones are kept as written.</summary>
    internal static string Strftime(string format, DateTimeOffset time)
    {
        var utc = time.UtcDateTime;
        var output = new StringBuilder(format.Length + 16);
        for (var i = 0; i < format.Length; i++)
        {
            var c = format[i];
            if (c != '%' || i + 1 == format.Length)
            {
                output.Append(c);
                continue;
            }

            var conversion = format[++i];
            var inv = CultureInfo.InvariantCulture;
            switch (conversion)
            {
                case 'Y': output.Append(utc.Year.ToString("D4", inv)); break;
                case 'y': output.Append((utc.Year % 100).ToString("D2", inv)); break;
                case 'C': output.Append((utc.Year / 100).ToString("D2", inv)); break;
                case 'm': output.Append(utc.Month.ToString("D2", inv)); break;
                case 'd': output.Append(utc.Day.ToString("D2", inv)); break;
                case 'e': output.Append(utc.Day.ToString(inv).PadLeft(2)); break;
                case 'H': output.Append(utc.Hour.ToString("D2", inv)); break;
                case 'I': output.Append(((utc.Hour + 11) % 12 + 1).ToString("D2", inv)); break;
                case 'M': output.Append(utc.Minute.ToString("D2", inv)); break;
                case 'S': output.Append(utc.Second.ToString("D2", inv)); break;
                case 'p': output.Append(utc.Hour < 12 ? "AM" : "PM"); break;
                case 'j': output.Append(utc.DayOfYear.ToString("D3", inv)); break;
                case 'a': output.Append(utc.ToString("ddd", inv)); break;
                case 'A': output.Append(utc.ToString("dddd", inv)); break;
                case 'b' or 'h': output.Append(utc.ToString("MMM", inv)); break;
                case 'B': output.Append(utc.ToString("MMMM", inv)); break;
                case 'u': output.Append(utc.DayOfWeek == DayOfWeek.Sunday ? '7' : (char)('0' + (int)utc.DayOfWeek)); break;
                case 'w': output.Append((char)('0' + (int)utc.DayOfWeek)); break;
                case 's': output.Append(time.ToUnixTimeSeconds().ToString(inv)); break;
                case 'F': output.Append(utc.ToString("yyyy-MM-dd", inv)); break;
                case 'T': output.Append(utc.ToString("HH:mm:ss", inv)); break;
                case 'R': output.Append(utc.ToString("HH:mm", inv)); break;
                case 'D': output.Append(utc.ToString("MM/dd/yy", inv)); break;
                case 'Z': output.Append("UTC"); break;
                case 'z': output.Append("+0000"); break;
                case 'n': output.Append('\n'); break;
                case 't': output.Append('\t'); break;
                case '%': output.Append('%'); break;
                default: output.Append('%').Append(conversion); break;
            }
        }

        return output.ToString();
    }

    private static string CutToKeyLimit(string key)
    {
        if (Encoding.UTF8.GetByteCount(key) <= MaxKeyBytes)
        {
            return key;
        }

        var length = key.Length;
        while (Encoding.UTF8.GetByteCount(key.AsSpan(0, length)) > MaxKeyBytes)
        {
            length--;
        }

        return key[..length];
    }
}
