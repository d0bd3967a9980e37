using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using Gateway.Engine.Records;
using Gateway.Load;

if (!LoadOptions.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine($"Gateway.Load: {error}");
    Console.Error.WriteLine(LoadOptions.Usage);
    return 2;
}

// One prebuilt batch per run: the aggregator stores bytes as received, so reusing identical events measures
// the ingest path without the generator's own cost in the figures.
var batch = BuildBatch(options.Batch, options.RecordBytes);
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

            await connection.SendAsync(count, cancel.Token).ConfigureAwait(false);
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
Console.WriteLine(string.Create(inv, $"records={acked} seconds={seconds:F2} records_per_sec={acked / seconds:F0} mb_per_sec={acked * (double)batch.BytesPerEvent / seconds / (1024 * 1024):F1} protocol={options.Protocol} connections={options.Connections} batch={options.Batch} bytes_per_record={batch.BytesPerEvent}"));
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

internal sealed class PreparedBatch(ReadOnlyMemory<byte> events, int[] offsets, string padding)
{
    public ReadOnlyMemory<byte> Events { get; } = events;

    /// <summary>The filler of each record's "log" line (the gRPC structured form rebuilds the same records).</summary>
    public string Padding { get; } = padding;

    public int Count => offsets.Length - 1;

    public int BytesPerEvent => Events.Length / (offsets.Length - 1);

    public ReadOnlyMemory<byte> Prefix(int count) => Events[..offsets[count]];
}
