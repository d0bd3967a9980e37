using System.Globalization;
using Gateway.Protos.Client;
using Gateway.Protos.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Resources;
using Xunit.Abstractions;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// Apps logging straight to a real aggregator process over gRPC: the Gateway client (and its ILogger provider) on
/// a gateway_grpc input, the OpenTelemetry SDK's OTLP/gRPC exporter on an opentelemetry input; kill -9 mid-stream.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class GrpcAppEndToEndTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-e2e-grpc-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Gateway_client_logger_and_OpenTelemetry_SDK_exporter_both_deliver_to_the_file_output()
    {
        var (grpcPort, otlpPort, httpPort) = (FreePort.Next(), FreePort.Next(), FreePort.Next());
        var outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        var tokens = Path.Combine(_dir, "otlp-tokens");
        await File.WriteAllTextAsync(tokens, "otel-secret\n");
        await using var aggregator = AggregatorProcess.Start(_dir, $"""
            [SERVICE]
                Flush        1
                HTTP_Server  On
                HTTP_Listen  127.0.0.1
                HTTP_Port    {httpPort}
                storage.path {Path.Combine(_dir, "storage")}

            [INPUT]
                Name         gateway_grpc
                Listen       127.0.0.1
                Port         {grpcPort}
                storage.type filesystem

            [INPUT]
                Name            opentelemetry
                Listen          127.0.0.1
                Port            {otlpPort}
                Tag             otel.sdk
                auth_token_file {tokens}

            [OUTPUT]
                Name   file
                Match  *
                Path   {outDir}
            """, httpPort);
        await aggregator.WaitReadyAsync();

        // 1. The Gateway client directly: one acknowledged batch.
        await using (var client = new GatewayLogClient(new GatewayLogClientOptions { Address = new Uri($"http://127.0.0.1:{grpcPort}"), DefaultTag = "app.client" }))
        {
            var ack = await client.SendAsync([GatewayValues.CreateEvent(null, DateTimeOffset.UtcNow, [new("message", "direct"), new("attempt", 1)])]).WaitAsync(Wait);
            Assert.Equal(1u, ack.Accepted);
        }

        // 2. ILogger through AddGateway; disposing the factory flushes what is queued.
        using (var factory = LoggerFactory.Create(logging => logging.AddGateway(options =>
        {
            options.Address = new Uri($"http://127.0.0.1:{grpcPort}");
            options.Tag = "app.logger";
            options.FlushInterval = TimeSpan.FromMilliseconds(100);
            options.ShutdownTimeout = TimeSpan.FromSeconds(30);
        })))
        {
            var logger = factory.CreateLogger("Orders.Checkout");
            for (var i = 0; i < 5; i++)
            {
                logger.LogWarning(new EventId(7, "Slow"), "checkout {OrderId} took {Millis} ms", $"o-{i}", 1500 + i);
            }
        }

        // 3. The OpenTelemetry SDK's OTLP/gRPC log exporter, with the input's bearer token.
        using (var factory = LoggerFactory.Create(logging => logging.AddOpenTelemetry(otel =>
        {
            otel.SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("billing"));
            otel.AddOtlpExporter(exporter =>
            {
                exporter.Endpoint = new Uri($"http://127.0.0.1:{otlpPort}");
                exporter.Protocol = OtlpExportProtocol.Grpc;
                exporter.Headers = "authorization=Bearer otel-secret";
            });
        })))
        {
            var logger = factory.CreateLogger("Billing.Invoices");
            for (var i = 0; i < 3; i++)
            {
                logger.LogError("invoice {InvoiceId} failed", 100 + i);
            }
        }

        var direct = await OutFileRecords.WaitForAsync(outDir, "app.client", 1, Wait);
        var logged = await OutFileRecords.WaitForAsync(outDir, "app.logger", 5, Wait);
        var otel = await OutFileRecords.WaitForAsync(outDir, "otel.sdk", 3, Wait);

        Assert.True(direct.Count == 1 && logged.Count == 5 && otel.Count == 3, $"direct {direct.Count}, logger {logged.Count}, otel {otel.Count}\n{aggregator.Log}");
        Assert.Equal("direct", direct[0].Record.GetProperty("message").GetString());
        Assert.Equal(1, direct[0].Record.GetProperty("attempt").GetInt32());

        var first = logged.Single(r => r.Record.GetProperty("OrderId").GetString() == "o-0").Record;
        Assert.Equal("checkout o-0 took 1500 ms", first.GetProperty("message").GetString());
        Assert.Equal("warn", first.GetProperty("level").GetString());
        Assert.Equal("Orders.Checkout", first.GetProperty("category").GetString());
        Assert.Equal(1500, first.GetProperty("Millis").GetInt32());
        Assert.Equal("Slow", first.GetProperty("event_name").GetString());

        var invoice = otel.Single(r => r.Record.GetProperty("attributes").GetProperty("InvoiceId").GetInt32() == 101).Record;
        Assert.Equal("invoice {InvoiceId} failed", invoice.GetProperty("log").GetString());
        Assert.Equal(17, invoice.GetProperty("severity_number").GetInt32());
        Assert.Equal("Error", invoice.GetProperty("severity_text").GetString());
        Assert.Equal("billing", invoice.GetProperty("resource").GetProperty("service.name").GetString());
        Assert.Equal("Billing.Invoices", invoice.GetProperty("scope").GetProperty("name").GetString());
    }

    /// <summary>
    /// kill -9 three times while a client streams batches with acks: every batch the aggregator acknowledged is in
    /// the file output afterwards. A batch whose send failed is resent on a new stream (at-least-once), so
    /// duplicates are allowed, losses are not.
    /// </summary>
    [Fact]
    public async Task Acknowledged_gRPC_batches_survive_kill_minus_9_of_the_aggregator()
    {
        const int Kills = 3;
        const int EventsPerBatch = 50;
        var (grpcPort, httpPort) = (FreePort.Next(), FreePort.Next());
        var outDir = Path.Combine(_dir, "out");
        Directory.CreateDirectory(outDir);
        await using var aggregator = AggregatorProcess.Start(_dir, $"""
            [SERVICE]
                Flush        1
                HTTP_Server  On
                HTTP_Listen  127.0.0.1
                HTTP_Port    {httpPort}
                storage.path {Path.Combine(_dir, "storage")}
                storage.sync normal

            [INPUT]
                Name         gateway_grpc
                Listen       127.0.0.1
                Port         {grpcPort}
                storage.type filesystem

            [OUTPUT]
                Name   file
                Match  *
                Path   {outDir}
            """, httpPort);
        await aggregator.WaitReadyAsync();

        var acked = new HashSet<int>();
        var failedSends = 0;
        using var stop = new CancellationTokenSource();
        var streaming = Task.Run(async () =>
        {
            await using var client = new GatewayLogClient(new GatewayLogClientOptions { Address = new Uri($"http://127.0.0.1:{grpcPort}"), DefaultTag = "grpc.crash" });
            var batchNumber = 0;
            while (!stop.IsCancellationRequested)
            {
                var events = new List<Event>(EventsPerBatch);
                for (var i = 0; i < EventsPerBatch; i++)
                {
                    events.Add(GatewayValues.CreateEvent(null, DateTimeOffset.UtcNow, [new("batch", batchNumber), new("seq", (batchNumber * EventsPerBatch) + i)]));
                }

                // Resend the same batch until it is acknowledged: a send that failed may or may not have been stored.
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        await client.SendAsync(events, stop.Token);
                        lock (acked)
                        {
                            acked.Add(batchNumber);
                        }

                        break;
                    }
                    catch (RpcException)
                    {
                        Interlocked.Increment(ref failedSends);
                        await Task.Delay(100, CancellationToken.None);
                    }
                    catch (OperationCanceledException) when (stop.IsCancellationRequested)
                    {
                        break;
                    }
                }

                batchNumber++;
            }
        });

        int AckedCount()
        {
            lock (acked)
            {
                return acked.Count;
            }
        }

        for (var kill = 0; kill < Kills; kill++)
        {
            var target = AckedCount() + 20;
            await WaitUntilAsync(() => AckedCount() >= target || streaming.IsCompleted, $"20 more acked batches before kill {kill + 1}", aggregator);
            Assert.False(streaming.IsCompleted, $"the client stopped: {streaming.Exception}");
            await aggregator.KillAsync();
            aggregator.Restart();
            await aggregator.WaitReadyAsync();
        }

        var finalTarget = AckedCount() + 20;
        await WaitUntilAsync(() => AckedCount() >= finalTarget, "the client to resume after the last restart", aggregator);
        await stop.CancelAsync();
        await streaming.WaitAsync(Wait);

        int[] ackedBatches;
        lock (acked)
        {
            ackedBatches = [.. acked];
        }

        var records = await OutFileRecords.WaitForAsync(outDir, "grpc.crash", ackedBatches.Length * EventsPerBatch, Wait);
        Assert.Equal(0, await aggregator.TerminateAsync());
        var stored = new HashSet<int>();
        foreach (var record in records)
        {
            stored.Add(record.Record.GetProperty("seq").GetInt32());
        }

        var missing = new List<string>();
        foreach (var batch in ackedBatches)
        {
            for (var seq = batch * EventsPerBatch; seq < (batch + 1) * EventsPerBatch; seq++)
            {
                if (!stored.Contains(seq))
                {
                    missing.Add(seq.ToString(CultureInfo.InvariantCulture));
                }
            }
        }

        output.WriteLine($"batches acked {ackedBatches.Length}, failed sends (resent) {failedSends}, records stored {records.Count}");
        Assert.True(missing.Count == 0, $"records of acknowledged batches missing: {string.Join(", ", missing.Take(50))}\n{aggregator.Log}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, AggregatorProcess aggregator)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}\n{aggregator.Log}");
            }

            await Task.Delay(50);
        }
    }
}
