using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gateway.Aggregator.Tests.EndToEnd;
using Xunit.Abstractions;

namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>
/// kill -9 of the shipper (10 times) and of the aggregator (3 times, filesystem storage) while a container keeps
/// appending numbered lines: every line reaches the aggregator's output, and the only duplicates are runs of
/// consecutive lines — whole chunks that were sent but not (known to be) acknowledged when a process died.
/// </summary>
[Collection(ShipperEndToEndCollection.Name)]
public sealed class CrashEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private const int TotalLines = 50_000;
    private const int ShipperKills = 10;
    private const int AggregatorKills = 3;
    private const string ContainerLog = "crash-app-7cd4ffbdc7-8r2ck_default_app-3e1f0c5b7a9d2e4f6a8b0c1d3e5f7a9b2c4d6e8f0a1b3c5d7e9f1a2b4c6d8e0f.log";
    private const string Tag = "app.var.log.containers." + ContainerLog;
    private readonly ShipperTestNode _node = new(copyFixtureLogs: false);

    public void Dispose() => _node.Dispose();

    [Fact]
    public async Task No_line_is_lost_when_shipper_and_aggregator_are_killed_while_a_container_writes()
    {
        var configPath = _node.WriteShipperConfig("""
            [SERVICE]
                Flush         1
                Log_Level     info

            [INPUT]
                Name              tail
                Tag               app.*
                Path              /var/log/containers/*.log
                multiline.parser  docker, cri
                DB                /var/fluent-bit/state/flb_container.db
                Mem_Buf_Limit     2MB
                Refresh_Interval  1
                Read_from_Head    On
            """);
        var forwardPort = FreePort.Next();
        var httpPort = FreePort.Next();
        await using var aggregator = AggregatorProcess.Start(_node.AggregatorDir, _node.AggregatorConfig(forwardPort, httpPort), httpPort);
        await aggregator.WaitReadyAsync();
        await using var shipper = ShipperProcess.Start(configPath, $"127.0.0.1:{forwardPort}", _node.ShipperEnvironment);
        var logPath = Path.Combine(_node.VarLog, "containers", ContainerLog);

        using (var writer = new DockerLogWriter(logPath))
        {
            var batch = TotalLines / ShipperKills;
            for (var kill = 0; kill < ShipperKills; kill++)
            {
                writer.WriteLines(batch / 2);
                var landed = CountLines(_node.OutDir);
                await WaitUntilAsync(() => CountLines(_node.OutDir) > landed, TimeSpan.FromSeconds(20));
                writer.WriteLines(batch - (batch / 2));

                // Mid-stream: the second half of the batch is being read and sent as the shipper dies.
                await Task.Delay(Random.Shared.Next(20, 200));
                await shipper.KillAsync();
                if (kill is 2 or 5 or 8)
                {
                    await aggregator.KillAsync();
                    aggregator.Restart();
                    await aggregator.WaitReadyAsync();
                }

                shipper.Restart();
            }

            Assert.Equal(TotalLines, writer.Written);
        }

        var records = await OutFileRecords.WaitForAsync(_node.OutDir, Tag, TotalLines, TimeSpan.FromSeconds(90));
        var seen = new int[TotalLines + 1];
        foreach (var record in records)
        {
            var log = record.Record.GetProperty("log").GetString()!;
            var seq = DockerLogWriter.SequenceOf(log);
            Assert.Equal(DockerLogWriter.Line(seq) + "\n", log);
            seen[seq]++;
        }

        var missing = new List<int>();
        var duplicated = 0;
        var duplicateRuns = 0;
        for (var seq = 1; seq <= TotalLines; seq++)
        {
            if (seen[seq] == 0)
            {
                missing.Add(seq);
            }

            if (seen[seq] > 1)
            {
                duplicated += seen[seq] - 1;
                if (seen[seq - 1] <= 1)
                {
                    duplicateRuns++;
                }
            }
        }

        var summary = $"{records.Count} records, {missing.Count} lines missing (first: {string.Join(",", missing.Take(10))}), " +
            $"{duplicated} duplicates in {duplicateRuns} runs after {ShipperKills} shipper and {AggregatorKills} aggregator kills";
        output.WriteLine(summary);
        Assert.True(missing.Count == 0, $"{summary}\nshipper log:\n{Tail(shipper.Log)}\naggregator log:\n{Tail(aggregator.Log)}");

        // Duplicates come from chunks in flight when a process died: a restarted shipper re-reads from its last
        // acknowledged offset, and a resend after a lost ack repeats whole chunks. Each kill can do that for at most
        // the unacknowledged window (Mem_Buf_Limit) — never a scattered line here and there.
        Assert.True(duplicateRuns <= (ShipperKills + AggregatorKills) * 32, summary);
        Assert.True(duplicated <= (ShipperKills + AggregatorKills) * 2 * 1024 * 1024 / 60, summary);
        Assert.Equal(0, await shipper.TerminateAsync());
    }

    private static int CountLines(string dir)
    {
        var count = 0;
        foreach (var file in Directory.GetFiles(dir))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[64 * 1024];
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                count += buffer.AsSpan(0, read).Count((byte)'\n');
            }
        }

        return count;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!condition() && clock.Elapsed < timeout)
        {
            await Task.Delay(50);
        }
    }

    private static string Tail(string log) => log.Length <= 20_000 ? log : log[^20_000..];

    /// <summary>Appends Docker json-file lines (O_APPEND, as dockerd's log driver) with a sequence number each.</summary>
    private sealed class DockerLogWriter : IDisposable
    {
        private readonly FileStream _stream;
        private readonly StringBuilder _batch = new();

        public DockerLogWriter(string path)
        {
            _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }

        public int Written { get; private set; }

        public static string Line(int seq) => $"seq={seq:D7} the quick brown fox jumps over the lazy dog {seq % 997:D3}";

        public static int SequenceOf(string text) =>
            int.Parse(text.AsSpan(text.IndexOf("seq=", StringComparison.Ordinal) + 4, 7), CultureInfo.InvariantCulture);

        public void WriteLines(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Written++;
                _batch.Append("{\"log\":\"").Append(Line(Written)).Append("\\n\",\"stream\":\"stdout\",\"time\":\"")
                    .Append(DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffffff", CultureInfo.InvariantCulture)).Append("Z\"}\n");
                if (_batch.Length >= 64 * 1024)
                {
                    Flush();
                }
            }

            Flush();
        }

        public void Dispose() => _stream.Dispose();

        private void Flush()
        {
            var bytes = Encoding.UTF8.GetBytes(_batch.ToString());
            _stream.Write(bytes);
            _stream.Flush();
            _batch.Clear();
        }
    }
}
