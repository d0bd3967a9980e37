using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Gateway.Engine.Config;
using Gateway.Engine.Hosting;
using Gateway.Shipper.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Tests.Hosting;

public sealed class ShipperHttpServerTests
{
    private static readonly Meter TestMeter = new("Gateway");
    private static readonly Counter<long> TestCounter = TestMeter.CreateCounter<long>("gateway.test.http_server_hits", description: "test counter");

    [Fact]
    public async Task Healthz_is_ok_and_metrics_lists_the_gateway_meter_in_prometheus_text()
    {
        await using var server = new ShipperHttpServer(new IPEndPoint(IPAddress.Loopback, 0), NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        server.Start(stop.Token);
        TestCounter.Add(3, new KeyValuePair<string, object?>("name", "tail.0"));
        TestCounter.Add(4, new KeyValuePair<string, object?>("name", "tail.0"));

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.LocalEndPoint!.Port}"), Timeout = TimeSpan.FromSeconds(30) };
        using var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal("ok", await health.Content.ReadAsStringAsync());

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("# TYPE gateway_test_http_server_hits_total counter\n", metrics, StringComparison.Ordinal);
        Assert.Contains("gateway_test_http_server_hits_total{name=\"tail.0\"} 7\n", metrics, StringComparison.Ordinal);

        using var missing = await http.GetAsync(new Uri("/nope", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        await stop.CancelAsync();
    }

    [Fact]
    public async Task Garbage_request_gets_400_and_the_server_keeps_serving()
    {
        await using var server = new ShipperHttpServer(new IPEndPoint(IPAddress.Loopback, 0), NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        server.Start(stop.Token);

        using (var raw = new TcpClient())
        {
            await raw.ConnectAsync(IPAddress.Loopback, server.LocalEndPoint!.Port);
            var stream = raw.GetStream();
            await stream.WriteAsync("NOT HTTP\r\n\r\n"u8.ToArray());
            var reply = new byte[256];
            var read = await stream.ReadAsync(reply).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.StartsWith("HTTP/1.1 400 Bad Request", Encoding.ASCII.GetString(reply, 0, read), StringComparison.Ordinal);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal("ok", await http.GetStringAsync(new Uri($"http://127.0.0.1:{server.LocalEndPoint.Port}/healthz")));
        await stop.CancelAsync();
    }

    [Fact]
    public void Http_server_is_off_unless_the_service_section_turns_it_on()
    {
        var off = new ConfigDocument("a.conf", [Service(("Flush", "1"))], []);
        var on = new ConfigDocument("a.conf", [Service(("HTTP_Server", "On"), ("HTTP_Listen", "127.0.0.1"), ("HTTP_Port", "0"))], []);
        var bad = new ConfigDocument("a.conf", [Service(("HTTP_Server", "On"), ("HTTP_Listen", "localhost-ish"))], []);
        var diagnostics = new List<ConfigDiagnostic>();

        Assert.Null(ShipperHttpServer.FromConfig(off, NullLogger.Instance, diagnostics));
        Assert.NotNull(ShipperHttpServer.FromConfig(on, NullLogger.Instance, diagnostics));
        Assert.Empty(diagnostics);
        Assert.Null(ShipperHttpServer.FromConfig(bad, NullLogger.Instance, diagnostics));
        Assert.Contains("HTTP_Listen 'localhost-ish' is not an IP address", Assert.Single(diagnostics).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Aggregator_option_repeats_and_takes_comma_lists_for_failover()
    {
        Assert.True(CommandLine.TryParse(["-c", "x.conf", "--aggregator", "a:24224,b:24224", "--aggregator=c:1"], GatewayProgram.Shipper, out var options, out var error), error);
        Assert.Equal([new HostPort("a", 24224), new HostPort("b", 24224), new HostPort("c", 1)], options.Aggregators);
        Assert.Equal(new HostPort("a", 24224), options.Aggregator);
        Assert.False(CommandLine.TryParse(["-c", "x.conf", "--aggregator", "a:24224,b"], GatewayProgram.Shipper, out _, out error));
        Assert.Contains("'b'", error, StringComparison.Ordinal);
    }

    private static ConfigSection Service(params (string Key, string Value)[] entries) =>
        new(SectionKind.Service, "SERVICE", new ConfigLocation("a.conf", 1), [.. entries.Select(e => new ConfigEntry(e.Key, e.Value, new ConfigLocation("a.conf", 2)))]);
}
