using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Gateway.Engine.Records;
using Gateway.Load;
using Gateway.Tools;

if (!LoadOptions.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine($"Gateway.Load: {error}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

// One prebuilt batch per run: the aggregator stores bytes as received, so reusing identical events measures
// the ingest path without the generator's own cost in the figures.
var batch = options.KubernetesPods > 0 ? BuildContainerLogBatch(options.Batch, options.RecordBytes) : BuildBatch(options.Batch, options.RecordBytes);

// Kubernetes mode: each message carries one pod's container log tag, the pods taken in turn (a node's Fluent Bit
// sends one tail file's chunk per message), so the filter sees every pod of the fake API server.
var tags = options.KubernetesPods > 0 ? BuildPodTags(options.KubernetesPods) : [options.Tag];
long messages = -1;
var remaining = options.Records;
long sent = 0;
var failures = 0;
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var clock = Stopwatch.StartNew();
var workers = new Task[options.Connections];
for (var c = 0; c < workers.Length; c++)
{
    workers[c] = Task.Run(async () =>
    {
        await using var connection = await LoadConnection.ConnectAsync(options, batch, cancel.Token).ConfigureAwait(false);
        while (true)
        {
            // Claim a batch's worth of the remaining records; the last claim may be short.
            var claimed = Interlocked.Add(ref remaining, -options.Batch);
            var count = (int)Math.Min(options.Batch, claimed + options.Batch);
            if (count <= 0)
            {
                return;
            }

            var tag = tags[(int)(Interlocked.Increment(ref messages) % tags.Length)];
            await connection.SendAsync(tag, count, cancel.Token).ConfigureAwait(false);
            Interlocked.Add(ref sent, count);
        }
    });
}

try
{
    await Task.WhenAll(workers).ConfigureAwait(false);
}
catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or OperationCanceledException or Grpc.Core.RpcException)
{
    failures++;
    Console.Error.WriteLine($"Gateway.Load: {ex.Message}");
}

clock.Stop();
var seconds = clock.Elapsed.TotalSeconds;
var acked = Interlocked.Read(ref sent);
var inv = CultureInfo.InvariantCulture;
Console.WriteLine(string.Create(inv, $"records={acked} seconds={seconds:F2} records_per_sec={acked / seconds:F0} mb_per_sec={acked * (double)batch.BytesPerEvent / seconds / (1024 * 1024):F1} protocol={options.Protocol} connections={options.Connections} batch={options.Batch} bytes_per_record={batch.BytesPerEvent} tags={tags.Length}"));
return failures == 0 && acked == options.Records ? 0 : 1;

static PreparedBatch BuildBatch(int count, int recordBytes)
{
    var output = new ArrayBufferWriter<byte>(count * (recordBytes + 32));
    var offsets = new int[count + 1];
    var time = EventTime.Now();
    // ~200 bytes per event: time + a few short fields + a padded "log" line, like a container log record.
    var padding = new string('x', Math.Max(1, recordBytes - 90));
    for (var i = 0; i < count; i++)
    {
        offsets[i] = output.WrittenCount;
        EventWriter.WriteEvent(output, time,
        [
            new("stream", "stdout"),
            new("logtag", "F"),
            new("seq", i.ToString(CultureInfo.InvariantCulture)),
            new("log", $"GET /api/v1/items?id={i} 200 {padding}"),
        ]);
    }

    offsets[count] = output.WrittenCount;
    return new PreparedBatch(output.WrittenMemory, offsets, padding);
}

static string[] BuildPodTags(int pods)
{
    var tags = new string[pods];
    for (var i = 0; i < pods; i++)
    {
        tags[i] = SyntheticPods.Tag(i);
    }

    return tags;
}

static PreparedBatch BuildContainerLogBatch(int count, int recordBytes)
{
    // What a node's tail input with the docker parser sends: the application's JSON line (newline included) under
    // "log", then "stream" and "time". The kubernetes filter's Merge_Log lifts the line's keys (level, msg, ...)
    // into the record, where the grep filter reads "level". One line in 8 is debug (the benchmark's grep drops
    // those); warn and error lines go to stderr.
    var output = new ArrayBufferWriter<byte>(count * (recordBytes + 64));
    var offsets = new int[count + 1];
    var time = EventTime.Now();
    var stamp = DateTime.UnixEpoch.AddSeconds(time.Seconds).AddTicks(time.Nanoseconds / 100);
    var timeText = stamp.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);
    var tsText = stamp.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    for (var i = 0; i < count; i++)
    {
        var level = (i % 8) switch
        {
            7 => "debug",
            3 when i % 16 == 3 => "warn",
            5 when i % 32 == 5 => "error",
            _ => "info",
        };
        var stream = level is "warn" or "error" ? "stderr" : "stdout";
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{{\"level\":\"{level}\",\"ts\":\"{tsText}\",\"msg\":\"GET /api/v1/items?id={i} 200\",\"latency_ms\":{i % 97},\"trace_id\":\"{i:x16}\"");
        // Pad the message to about recordBytes per event, like the plain load's records.
        var padding = Math.Max(0, recordBytes - 60 - line.Length);
        line = string.Concat(line, ",\"detail\":\"", new string('x', padding), "\"}\n");
        offsets[i] = output.WrittenCount;
        EventWriter.WriteEvent(output, time,
        [
            new("log", line),
            new("stream", stream),
            new("time", timeText),
        ]);
    }

    offsets[count] = output.WrittenCount;
    return new PreparedBatch(output.WrittenMemory, offsets, string.Empty);
}

internal sealed class PreparedBatch(ReadOnlyMemory<byte> events, int[] offsets, string padding)
{
    public ReadOnlyMemory<byte> Events { get; } = events;

    /// <summary>The filler of each record's "log" line (the gRPC structured form rebuilds the same records).</summary>
    public string Padding { get; } = padding;

    public int Count => offsets.Length - 1;

    public int BytesPerEvent => Events.Length / (offsets.Length - 1);

    public ReadOnlyMemory<byte> Prefix(int count) => Events[..offsets[count]];
}
