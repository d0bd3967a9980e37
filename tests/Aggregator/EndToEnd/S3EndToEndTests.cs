using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// The aggregator process with <c>[OUTPUT] s3</c> against s3rver (signatures verified): what lands in the bucket
/// is read back with the AWS SDK and compared record by record with what the clients sent.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed partial class S3EndToEndTests(ITestOutputHelper output) : IDisposable
{
    private const string Bucket = "gateway-logs";
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-e2e-s3-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>
    /// Acceptance 1: 1,000,000 records on two tags → gzip objects whose decompressed lines are exactly the
    /// records, under keys rendered from the template, and objects above upload_chunk_size sent as multipart.
    /// </summary>
    [Fact]
    public async Task A_million_records_become_gzip_json_lines_under_templated_keys_with_multipart_for_big_objects()
    {
        const int RecordsPerChunk = 1000;
        const int ChunksPerTag = 500;
        await using var s3 = await S3rverProcess.StartAsync(Path.Combine(_dir, "s3rver"), Bucket);
        // Objects are cut by size; the last one of each tag goes up when the aggregator shuts down (SIGTERM).
        var (config, forwardPort, httpPort) = Config(s3, compression: "gzip", totalFileSize: "20M", uploadTimeout: "10m");
        await using var aggregator = AggregatorProcess.Start(_dir, config, httpPort, S3rverProcess.CredentialsEnvironment);
        await aggregator.WaitReadyAsync();

        var started = DateTime.UtcNow;
        var senders = new[] { "s3.alpha", "s3.beta" }
            .Select(tag => new AckedChunkSender(forwardPort, tag, RecordsPerChunk, seq => LogText(tag, seq)))
            .ToArray();
        var sent = await Task.WhenAll(senders.Select(s => Task.Run(() => s.RunAsync(CancellationToken.None, ChunksPerTag))))
            .WaitAsync(TimeSpan.FromMinutes(3));
        Assert.All(sent, n => Assert.Equal(ChunksPerTag, n));
        Assert.All(senders, s => Assert.Empty(s.UnansweredAttempts));

        await WaitUntilAsync(async () => await StoredRecordsAsync(aggregator) >= 1_000_000, "all 1,000,000 records to be in store_dir", aggregator, s3);
        Assert.Equal(0, await aggregator.TerminateAsync());
        Assert.False(Directory.EnumerateDirectories(Path.Combine(_dir, "store", Bucket, "objects")).Any(), "the shutdown left objects in store_dir");
        output.WriteLine($"sent and uploaded in {(DateTime.UtcNow - started).TotalSeconds:F1} s");

        var objects = await s3.ListObjectsAsync();
        var seen = new Dictionary<string, HashSet<int>>(StringComparer.Ordinal) { ["alpha"] = [], ["beta"] = [] };
        long lines = 0;
        foreach (var obj in objects)
        {
            var key = KeyPattern().Match(obj.Key);
            Assert.True(key.Success, $"key '{obj.Key}' does not match the s3_key_format template");
            var tagPart = key.Groups["tag1"].Value;
            Assert.Equal("s3." + tagPart, key.Groups["tag"].Value);

            var (text, encoding) = await s3.GetTextAsync(obj.Key);
            Assert.Equal("gzip", encoding);
            Assert.EndsWith("\n", text, StringComparison.Ordinal);
            var first = true;
            foreach (var line in text.AsSpan().TrimEnd('\n').ToString().Split('\n'))
            {
                var record = ParseRecord(line);
                Assert.Equal(LogText("s3." + tagPart, record.Seq), record.Log);
                if (first)
                {
                    // strftime ran on the object's first record time.
                    Assert.Equal(key.Groups["hour"].Value, record.Date.ToString("yyyy/MM/dd/HH", CultureInfo.InvariantCulture));
                    first = false;
                }

                Assert.True(seen[tagPart].Add(record.Seq), $"record {tagPart}/{record.Seq} appears twice");
                lines++;
            }
        }

        Assert.Equal(1_000_000, lines);
        Assert.Equal(500_000, seen["alpha"].Count);
        Assert.Equal(500_000, seen["beta"].Count);
        Assert.Contains(objects, o => o.Size > 6_000_000);
        Assert.Contains("multipart,", aggregator.Log, StringComparison.Ordinal);
        Assert.Empty(await s3.ListMultipartUploadsAsync());
        output.WriteLine($"{objects.Count} objects, {objects.Sum(o => o.Size ?? 0)} bytes, largest {objects.Max(o => o.Size)}");
    }

    /// <summary>
    /// Acceptance 2: kill -9 three times while objects are being uploaded (each kill waits for a multipart upload
    /// to be in progress). After the restarts every acknowledged record is in an object of its tag's key, a
    /// record appears twice only as a whole chunk the engine re-delivered, and no multipart upload is left open.
    /// </summary>
    [Fact]
    public async Task Acknowledged_records_reach_their_objects_across_kill_minus_9_during_uploads_and_no_upload_is_orphaned()
    {
        const int Kills = 3;
        const int RecordsPerChunk = 250;
        const string Tag = "crash.s3";
        await using var s3 = await S3rverProcess.StartAsync(Path.Combine(_dir, "s3rver"), Bucket);
        var (config, forwardPort, httpPort) = Config(s3, compression: "none", totalFileSize: "15M", uploadTimeout: "3s");
        await using var aggregator = AggregatorProcess.Start(_dir, config, httpPort, S3rverProcess.CredentialsEnvironment);
        await aggregator.WaitReadyAsync();

        var sender = new AckedChunkSender(forwardPort, Tag, RecordsPerChunk, seq => LogText(Tag, seq));
        using var stop = new CancellationTokenSource();
        var streaming = Task.Run(() => sender.RunAsync(stop.Token));
        var killsDuringMultipart = 0;
        for (var kill = 0; kill < Kills; kill++)
        {
            var target = sender.AckedCount + 40;
            await WaitUntilAsync(() => Task.FromResult(sender.AckedCount >= target || streaming.IsCompleted), $"40 more chunks acked before kill {kill + 1}", aggregator, s3);
            Assert.False(streaming.IsCompleted, $"the client stopped: {streaming.Exception}");

            // Kill while a multipart upload is open in S3 when one comes within a few seconds.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
            while (s3.UploadsInProgressOnDisk() == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            killsDuringMultipart += s3.UploadsInProgressOnDisk() > 0 ? 1 : 0;
            await aggregator.KillAsync();
            aggregator.Restart();
            await aggregator.WaitReadyAsync();
        }

        var finalTarget = sender.AckedCount + 20;
        await WaitUntilAsync(() => Task.FromResult(sender.AckedCount >= finalTarget), "the client to resume after the last restart", aggregator, s3);
        await stop.CancelAsync();
        var sentChunks = await streaming.WaitAsync(TimeSpan.FromSeconds(90));
        var acked = sender.Acked;
        var unanswered = sender.UnansweredAttempts;

        // Everything acknowledged must reach S3: wait until store_dir is empty and the bucket holds every acked record.
        var storeObjects = Path.Combine(_dir, "store", Bucket, "objects");
        Dictionary<int, Dictionary<int, int>> perChunk = [];
        await WaitUntilAsync(
            async () =>
            {
                if (Directory.Exists(storeObjects) && Directory.EnumerateDirectories(storeObjects).Any())
                {
                    return false;
                }

                perChunk = await ReadCrashRecordsAsync(s3, Tag, RecordsPerChunk);
                return acked.All(c => perChunk.TryGetValue(c, out var seqs) && seqs.Count == RecordsPerChunk);
            },
            "every acknowledged record to be in S3",
            aggregator,
            s3);
        Assert.Equal(0, await aggregator.TerminateAsync());

        var replayed = 0;
        foreach (var (chunk, counts) in perChunk)
        {
            Assert.InRange(chunk, 0, sentChunks);
            var copies = counts.Values.Max();
            Assert.True(counts.Count == RecordsPerChunk && counts.Values.All(n => n == copies),
                $"chunk {chunk} is in S3 partially or unevenly duplicated: {counts.Count} records, copies {string.Join(",", counts.Values.Distinct())}");
            Assert.InRange(copies, 1, 1 + unanswered.GetValueOrDefault(chunk) + Kills);
            if (copies > 1 && !unanswered.ContainsKey(chunk))
            {
                replayed++;
            }
        }

        var pending = await s3.ListMultipartUploadsAsync();
        Assert.True(pending.Count == 0, $"orphaned multipart uploads: {string.Join(", ", pending.Select(u => u.Key + " " + u.UploadId))}");
        Assert.True(killsDuringMultipart >= 1, "no kill happened while a multipart upload was open; the test did not exercise resumption");
        Assert.Contains("resuming s3 object", aggregator.Log, StringComparison.Ordinal);
        Assert.True(replayed <= Kills * 4, $"{replayed} acknowledged chunks were delivered twice; only what was in flight at a kill may be");
        output.WriteLine($"chunks sent {sentChunks}, acked {acked.Count}, kills during an open multipart upload {killsDuringMultipart}, chunks re-delivered after a kill {replayed}");
    }

    private (string Config, int ForwardPort, int HttpPort) Config(S3rverProcess s3, string compression, string totalFileSize, string uploadTimeout)
    {
        var forwardPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var config = AggregatorProcess.ForwardToOutputConfig(Path.Combine(_dir, "storage"), httpPort, forwardPort, $"""
            [OUTPUT]
                Name              s3
                Match             *
                bucket            {Bucket}
                region            us-east-1
                endpoint          {s3.Endpoint}
                store_dir         {Path.Combine(_dir, "store")}
                s3_key_format     /logs/$TAG[1]/%Y/%m/%d/%H/$TAG-$INDEX-$UUID.json
                compression       {compression}
                total_file_size   {totalFileSize}
                upload_chunk_size 6M
                upload_timeout    {uploadTimeout}
            """);
        return (config, forwardPort, httpPort);
    }

    /// <summary>A record's log text: tag, seq and a hash, so gzip cannot shrink the volume to nothing.</summary>
    private static string LogText(string tag, int seq) =>
        $"{tag} record {seq} {Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(seq)))}";

    private static (int Chunk, int Seq, string Log, DateTime Date) ParseRecord(string line)
    {
        using var json = JsonDocument.Parse(line);
        var root = json.RootElement;
        return (
            int.Parse(root.GetProperty("chunk").GetString()!, CultureInfo.InvariantCulture),
            int.Parse(root.GetProperty("seq").GetString()!, CultureInfo.InvariantCulture),
            root.GetProperty("log").GetString()!,
            DateTime.Parse(root.GetProperty("date").GetString()!, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal));
    }

    /// <summary>chunk → seq → copies, over every object; checks each object's key and each record's content.</summary>
    private static async Task<Dictionary<int, Dictionary<int, int>>> ReadCrashRecordsAsync(S3rverProcess s3, string tag, int recordsPerChunk)
    {
        var perChunk = new Dictionary<int, Dictionary<int, int>>();
        foreach (var obj in await s3.ListObjectsAsync())
        {
            var key = KeyPattern().Match(obj.Key);
            Assert.True(key.Success && key.Groups["tag"].Value == tag, $"key '{obj.Key}' does not match the template for tag {tag}");
            var (text, _) = await s3.GetTextAsync(obj.Key);
            var first = true;
            foreach (var line in text.TrimEnd('\n').Split('\n'))
            {
                var record = ParseRecord(line);
                Assert.Equal(LogText(tag, record.Seq), record.Log);
                Assert.InRange(record.Seq, record.Chunk * recordsPerChunk, ((record.Chunk + 1) * recordsPerChunk) - 1);
                if (first)
                {
                    Assert.Equal(key.Groups["hour"].Value, record.Date.ToString("yyyy/MM/dd/HH", CultureInfo.InvariantCulture));
                    first = false;
                }

                var counts = perChunk.TryGetValue(record.Chunk, out var c) ? c : perChunk[record.Chunk] = [];
                counts[record.Seq] = counts.GetValueOrDefault(record.Seq) + 1;
            }
        }

        return perChunk;
    }

    /// <summary>Records the s3 output has fsync'd into store_dir, from the aggregator's /metrics.</summary>
    private static async Task<long> StoredRecordsAsync(AggregatorProcess aggregator)
    {
        var metrics = await aggregator.GetAsync("/metrics");
        foreach (var line in metrics.Split('\n'))
        {
            if (line.StartsWith("gateway_s3_records_stored", StringComparison.Ordinal) && line.Contains("output=\"s3.0\"", StringComparison.Ordinal))
            {
                return (long)double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, AggregatorProcess aggregator, S3rverProcess s3)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}\n--- aggregator ---\n{aggregator.Log}\n--- s3rver ---\n{s3.Log}");
            }

            await Task.Delay(200);
        }
    }

    // logs/$TAG[1]/%Y/%m/%d/%H/$TAG-$INDEX-$UUID.json
    [GeneratedRegex(@"^logs/(?<tag1>[a-z0-9]+)/(?<hour>\d{4}/\d{2}/\d{2}/\d{2})/(?<tag>[a-z0-9.]+)-(?<index>\d+)-[A-Za-z0-9]{8}\.json$")]
    private static partial Regex KeyPattern();
}
