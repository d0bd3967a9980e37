using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Gateway.Aggregator.Engine;

/// <summary>
/// Keeps chunks an output gave up on (Error, or retries exhausted) as files, so nothing is lost silently:
/// <c>&lt;root&gt;/&lt;output&gt;/&lt;time&gt;-&lt;chunk id&gt;.msgpack</c> holds the events exactly as buffered, and a
/// <c>.json</c> sidecar next to it names the output, tag, reason and time. The sidecar is written last, so a
/// sidecar always describes a complete data file.
/// </summary>
internal sealed class DeadLetterWriter
{
    private readonly string _root;
    private readonly TimeProvider _time;

    public DeadLetterWriter(string root, TimeProvider time)
    {
        _root = Path.GetFullPath(root);
        _time = time;
    }

    public string Root => _root;

    /// <summary>Writes the files and returns the data file's path. Throws on I/O failure.</summary>
    public string Write(string outputName, long chunkId, string tag, string? nodeName, int eventCount, ReadOnlySpan<byte> events, string reason)
    {
        var directory = Path.Combine(_root, SafeName(outputName));
        Directory.CreateDirectory(directory);
        var now = _time.GetUtcNow();
        var stem = string.Create(CultureInfo.InvariantCulture, $"{now:yyyyMMdd'T'HHmmssfff'Z'}-{chunkId:x16}");
        var dataPath = Path.Combine(directory, stem + ".msgpack");
        using (var file = new FileStream(dataPath, FileMode.Create, FileAccess.Write, FileShare.Read))
        {
            file.Write(events);
        }

        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("output", outputName);
            writer.WriteString("tag", tag);
            if (nodeName is not null)
            {
                writer.WriteString("node", nodeName);
            }

            writer.WriteString("reason", reason);
            writer.WriteString("time", now);
            writer.WriteNumber("events", eventCount);
            writer.WriteNumber("bytes", events.Length);
            writer.WriteString("data", Path.GetFileName(dataPath));
            writer.WriteEndObject();
        }

        File.WriteAllBytes(Path.Combine(directory, stem + ".json"), json.ToArray());
        return dataPath;
    }

    /// <summary>Output names become directory names: keep them to a harmless alphabet.</summary>
    private static string SafeName(string name)
    {
        var sb = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' ? c : '_');
        }

        var s = sb.ToString();
        return s is "" or "." or ".." ? "_" : s;
    }
}
