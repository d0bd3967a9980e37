using System.Net;
using Gateway.Aggregator.Hosting;
using Gateway.Engine.Config;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Tests.Hosting;

public sealed class ServiceSettingsTests
{
    [Fact]
    public void Defaults_match_fluent_bit()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var settings = ServiceSettings.FromConfig(new ConfigDocument("x.conf", [], []), diagnostics);
        Assert.Empty(diagnostics);
        Assert.False(settings.HttpServer);
        Assert.Equal(IPAddress.Any, settings.HttpListen);
        Assert.Equal(2020, settings.HttpPort);
        Assert.Equal(LogLevel.Information, settings.LogLevel);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Grace);
    }

    [Fact]
    public void Reads_http_server_log_level_and_grace_case_insensitively()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var settings = ServiceSettings.FromConfig(
            HostConfigs.Service(("http_server", "On"), ("HTTP_Listen", "127.0.0.1"), ("HTTP_PORT", "2021"), ("Log_Level", "debug"), ("Grace", "30")),
            diagnostics);
        Assert.Empty(diagnostics);
        Assert.True(settings.HttpServer);
        Assert.Equal(IPAddress.Loopback, settings.HttpListen);
        Assert.Equal(2021, settings.HttpPort);
        Assert.Equal(LogLevel.Debug, settings.LogLevel);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Grace);
    }

    [Fact]
    public void Bad_values_are_reported_with_file_and_line_and_all_at_once()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var settings = ServiceSettings.FromConfig(
            HostConfigs.Service(("HTTP_Server", "maybe"), ("HTTP_Port", "70000"), ("Log_Level", "loud"), ("HTTP_Listen", "not-an-ip")),
            diagnostics);

        Assert.Equal(
            [
                "test.conf:2: error: [SERVICE] HTTP_Server 'maybe' is not on/off",
                "test.conf:3: error: [SERVICE] HTTP_Port '70000' is not a port number (0-65535)",
                "test.conf:4: error: [SERVICE] Log_Level 'loud' is not one of off, error, warn, info, debug, trace",
                "test.conf:5: error: [SERVICE] HTTP_Listen 'not-an-ip' is not an IP address (e.g. 0.0.0.0, 127.0.0.1, ::)",
            ],
            diagnostics.ConvertAll(d => d.ToString()));
        Assert.Equal(2020, settings.HttpPort);
    }

    [Fact]
    public void Flush_is_read_in_seconds_with_fractions_and_a_bad_one_is_reported()
    {
        var diagnostics = new List<ConfigDiagnostic>();
        Assert.Equal(TimeSpan.FromSeconds(1), ServiceSettings.FromConfig(new ConfigDocument("x.conf", [], []), diagnostics).FlushInterval);
        Assert.Equal(TimeSpan.FromMilliseconds(500), ServiceSettings.FromConfig(HostConfigs.Service(("Flush", "0.5")), diagnostics).FlushInterval);
        Assert.Equal(TimeSpan.FromSeconds(5), ServiceSettings.FromConfig(HostConfigs.Service(("flush", "5")), diagnostics).FlushInterval);
        Assert.Empty(diagnostics);

        var settings = ServiceSettings.FromConfig(HostConfigs.Service(("Flush", "0")), diagnostics);
        Assert.Equal(["test.conf:2: error: [SERVICE] Flush '0' is not a number of seconds (above 0, at most 3600)"], diagnostics.ConvertAll(d => d.ToString()));
        Assert.Equal(TimeSpan.FromSeconds(1), settings.FlushInterval);
    }
}
