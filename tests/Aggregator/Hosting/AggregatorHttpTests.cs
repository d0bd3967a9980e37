using System.Diagnostics.Metrics;
using System.Net;
using Gateway.Aggregator.Hosting;
using Gateway.Engine.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Aggregator.Tests.Hosting;

public sealed class AggregatorHttpTests
{
    private static async Task<(WebApplication App, HttpClient Http)> StartAsync(ConfigDocument config)
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var service = ServiceSettings.FromConfig(config, diagnostics);
        Assert.Empty(diagnostics);
        var app = AggregatorApplication.Build(new AggregatorHostSettings { Config = config, Service = service, Quiet = true, OutputFactory = HostConfigs.NoOutputs });
        await app.StartAsync();
        var port = AggregatorApplication.BoundPort(app, service.HttpPort);
        Assert.NotEqual(0, port);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        return (app, http);
    }

    private static ConfigDocument HttpOnLoopback() =>
        HostConfigs.Service(("HTTP_Server", "On"), ("HTTP_Listen", "127.0.0.1"), ("HTTP_Port", "0"));

    [Fact]
    public async Task Healthz_answers_ok()
    {
        var (app, http) = await StartAsync(HttpOnLoopback());
        await using (app)
        using (http)
        {
            var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ok\n", await response.Content.ReadAsStringAsync());
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Readyz_is_503_naming_the_component_until_it_is_ready()
    {
        var (app, http) = await StartAsync(HttpOnLoopback());
        await using (app)
        using (http)
        {
            var engineReady = false;
            app.Services.GetRequiredService<ReadinessRegistry>().Register("engine", () => Volatile.Read(ref engineReady));

            var response = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("not ready: engine\n", await response.Content.ReadAsStringAsync());

            Volatile.Write(ref engineReady, true);
            response = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ready\n", await response.Content.ReadAsStringAsync());
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Metrics_exposes_gateway_meter_and_runtime_metrics_as_prometheus_text()
    {
        var (app, http) = await StartAsync(HttpOnLoopback());
        await using (app)
        using (http)
        using (var meter = new Meter(AggregatorTelemetry.GatewayMeterName))
        {
            var counter = meter.CreateCounter<long>("gateway.hosttest.records_in");
            counter.Add(7);

            var body = string.Empty;
            // The exporter collects on scrape but caches a response briefly; poll a bounded number of times.
            for (var attempt = 0; attempt < 60 && !body.Contains("gateway_hosttest_records_in", StringComparison.Ordinal); attempt++)
            {
                var response = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                body = await response.Content.ReadAsStringAsync();
                if (!body.Contains("gateway_hosttest_records_in", StringComparison.Ordinal))
                {
                    await Task.Delay(500);
                }
            }

            Assert.Matches(@"gateway_hosttest_records_in(_total)?\{[^}]*\} 7", body);
            Assert.Contains("dotnet_gc_", body, StringComparison.Ordinal);
            Assert.Contains("process_memory_usage", body, StringComparison.Ordinal);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task Http_server_off_means_no_http_listener()
    {
        var config = HostConfigs.Service(("HTTP_Server", "Off"), ("HTTP_Port", "0"));
        var service = ServiceSettings.FromConfig(config, new List<ConfigDiagnostic>());
        await using var app = AggregatorApplication.Build(new AggregatorHostSettings { Config = config, Service = service, Quiet = true, OutputFactory = HostConfigs.NoOutputs });
        Assert.False(service.HttpServer);
        await app.StartAsync();
        Assert.Equal(0, AggregatorApplication.BoundPort(app, service.HttpPort));
        await app.StopAsync();
    }
}
