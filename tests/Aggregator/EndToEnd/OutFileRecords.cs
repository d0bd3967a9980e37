using System.Globalization;
using System.Text.Json;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>One line of the file output's default <c>out_file</c> format: <c>tag: [time, {json}]</c>.</summary>
internal sealed record OutFileRecord(string Tag, double Time, JsonElement Record);

internal static class OutFileRecords
{
    /// <summary>Parses every line of every file under <paramref name="dir"/>; a malformed line fails the test.</summary>
    public static List<OutFileRecord> ReadAll(string dir)
    {
        var records = new List<OutFileRecord>();
        if (!Directory.Exists(dir))
        {
            return records;
        }

        foreach (var file in Directory.GetFiles(dir))
        {
            foreach (var line in ReadLinesShared(file))
            {
                if (line.Length == 0)
                {
                    continue;
                }

                records.Add(Parse(line, file));
            }
        }

        return records;
    }

    /// <summary>Waits (bounded) until at least <paramref name="count"/> records landed, then returns them all.</summary>
    public static Task<List<OutFileRecord>> WaitForAsync(string dir, int count, TimeSpan timeout) =>
        WaitForAsync(dir, null, count, timeout);

    /// <summary>As <see cref="WaitForAsync(string, int, TimeSpan)"/>, for the one file the tag goes to (out_file names it after the tag).</summary>
    public static async Task<List<OutFileRecord>> WaitForAsync(string dir, string? tag, int count, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            var records = ReadAllCompleteLines(dir, tag);
            if (records.Count >= count || clock.Elapsed > timeout)
            {
                return records;
            }

            await Task.Delay(200);
        }
    }

    public static OutFileRecord Parse(string line, string file)
    {
        var open = line.IndexOf(": [", StringComparison.Ordinal);
        var comma = open < 0 ? -1 : line.IndexOf(", ", open, StringComparison.Ordinal);
        if (open < 0 || comma < 0 || !line.EndsWith(']'))
        {
            throw new FormatException($"{file}: not an out_file line: {line}");
        }

        var time = double.Parse(line.AsSpan(open + 3, comma - open - 3), NumberStyles.Float, CultureInfo.InvariantCulture);
        using var json = JsonDocument.Parse(line.AsMemory(comma + 2, line.Length - comma - 3));
        return new OutFileRecord(line[..open], time, json.RootElement.Clone());
    }

    // The output may be writing while the test reads: only lines already terminated by '\n' are complete.
    private static List<OutFileRecord> ReadAllCompleteLines(string dir, string? tag)
    {
        var records = new List<OutFileRecord>();
        if (!Directory.Exists(dir))
        {
            return records;
        }

        var files = tag is null ? Directory.GetFiles(dir) : File.Exists(Path.Combine(dir, tag)) ? [Path.Combine(dir, tag)] : [];
        foreach (var file in files)
        {
            var text = ReadShared(file);
            var end = text.LastIndexOf('\n');
            if (end < 0)
            {
                continue;
            }

            foreach (var line in text[..end].Split('\n'))
            {
                if (line.Length > 0)
                {
                    records.Add(Parse(line, file));
                }
            }
        }

        return records;
    }

    private static string ReadShared(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static IEnumerable<string> ReadLinesShared(string file) => ReadShared(file).Split('\n');
}
