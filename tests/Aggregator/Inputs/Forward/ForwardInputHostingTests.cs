using System.Net;
using Gateway.Aggregator.Inputs.Forward;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using static Gateway.Aggregator.Tests.Inputs.Forward.ForwardFrames;

namespace Gateway.Aggregator.Tests.Inputs.Forward;

public sealed class ForwardInputHostingTests
{
    [Fact]
    public async Task Two_forward_inputs_wired_from_host_services()
    {
        var sink = new CollectingChunkSink();
        var logs = new CapturingLoggerProvider();
        var first = new ForwardInputOptions { Name = $"fw-a-{Guid.NewGuid():N}", Listen = "127.0.0.1", Port = 0, TagPrefix = "a." };
        var second = new ForwardInputOptions { Name = $"fw-b-{Guid.NewGuid():N}", Listen = "127.0.0.1", Port = 0, TagPrefix = "b." };
        using var metricsA = new MetricCollector(first.Name);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        ListenOptions? a = null;
        ListenOptions? b = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            a = kestrel.ListenForward(first, sink);
            b = kestrel.ListenForward(second, sink);
        });
        await using var app = builder.Build();
        await app.StartAsync();
        try
        {
            foreach (var (endpoint, tag) in new[] { (a!, "x"), (b!, "y") })
            {
                await using var client = await ForwardTestClient.ConnectTcpAsync(((IPEndPoint)endpoint.EndPoint).Port);
                await client.SendAsync(Packed(tag, Events(2), 2, tag));
                Assert.Equal(tag, await client.ReadAckAsync());
            }

            Assert.Equal(["a.x", "b.y"], sink.Chunks.Select(c => c.Tag));
            Assert.Equal(2, metricsA.Get("gateway.forward.records_in"));
            var listening = logs.Entries.Where(e => e.EventId == 1100).Select(e => e.Message).ToList();
            Assert.Equal(2, listening.Count);
            Assert.Contains(listening, m => m.Contains(first.Name, StringComparison.Ordinal) && m.Contains($"127.0.0.1:{((IPEndPoint)a!.EndPoint).Port}", StringComparison.Ordinal));
        }
        finally
        {
            await app.StopAsync();
        }
    }
}
