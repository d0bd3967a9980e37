using System.Buffers;
using System.Globalization;
using Gateway.Engine.Records;

namespace Gateway.Benchmarks;

/// <summary>Shared inputs: a chunk of container-log-like events of about 200 bytes each.</summary>
internal static class BenchmarkData
{
    public static ReadOnlyMemory<byte> Events(int count)
    {
        var output = new ArrayBufferWriter<byte>(count * 256);
        var time = new EventTime(1_700_000_000, 123_456_789);
        for (var i = 0; i < count; i++)
        {
            EventWriter.WriteEvent(output, time,
            [
                new("stream", "stdout"),
                new("logtag", "F"),
                new("seq", i.ToString(CultureInfo.InvariantCulture)),
                new("log", $"2026-11-25T10:00:00.000Z INFO GET /api/v1/items?id={i} 200 12ms user-agent=\"curl/8.5.0\" \"quoted\" \\ tab\t"),
            ]);
        }

        return output.WrittenMemory;
    }
}
