using Gateway.Aggregator.Hosting;
using Gateway.Engine.Config;

namespace Gateway.Aggregator.Tests.Hosting;

public sealed class AggregatorProgramTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ConfigFile()
    {
        var path = Path.Combine(_dir, "fluent-bit.conf");
        File.WriteAllText(path, "[SERVICE]\n");
        return path;
    }

    [Fact]
    public async Task Unknown_flag_exits_2_with_usage()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AggregatorProgram.RunAsync(["--frobnicate"], _ => throw new InvalidOperationException("must not load"), HostConfigs.NoOutputs, stdout, stderr);
        Assert.Equal(2, exit);
        Assert.Contains("unknown option: --frobnicate", stderr.ToString(), StringComparison.Ordinal);
        Assert.Contains("Usage:", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_config_file_exits_1_naming_it()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var missing = Path.Combine(_dir, "nope.conf");
        var exit = await AggregatorProgram.RunAsync(["-c", missing, "--dry-run"], _ => throw new InvalidOperationException("must not load"), HostConfigs.NoOutputs, stdout, stderr);
        Assert.Equal(1, exit);
        Assert.Contains($"{missing}: error: config file not found", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_reports_loader_and_service_errors_with_file_and_line()
    {
        var path = ConfigFile();
        var loaderError = new ConfigDiagnostic(new ConfigLocation("fluent-bit.conf", 9), DiagnosticSeverity.Error, "@INCLUDE host.conf: file not found");
        var service = HostConfigs.Service(("Log_Level", "chatty"));
        var config = new ConfigDocument(path, service.Sections, [loaderError]);

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AggregatorProgram.RunAsync(["-c", path, "--dry-run"], _ => config, HostConfigs.NoOutputs, stdout, stderr);

        Assert.Equal(1, exit);
        var errors = stderr.ToString();
        Assert.Contains("fluent-bit.conf:9: error: @INCLUDE host.conf: file not found", errors, StringComparison.Ordinal);
        Assert.Contains("test.conf:2: error: [SERVICE] Log_Level 'chatty'", errors, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_of_a_clean_config_exits_0()
    {
        var path = ConfigFile();
        var config = HostConfigs.Service(("HTTP_Server", "On"), ("Log_Level", "info"));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AggregatorProgram.RunAsync(["-c", path, "--dry-run"], _ => config, HostConfigs.NoOutputs, stdout, stderr);
        Assert.Equal(0, exit);
        Assert.Contains("configuration OK", stdout.ToString(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, stderr.ToString());
    }

    [Fact]
    public async Task Normal_start_refuses_a_config_with_errors()
    {
        var path = ConfigFile();
        var config = HostConfigs.Service(("HTTP_Port", "x"));
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AggregatorProgram.RunAsync(["-c", path], _ => config, HostConfigs.NoOutputs, stdout, stderr);
        Assert.Equal(1, exit);
        Assert.Contains("test.conf:2: error: [SERVICE] HTTP_Port 'x'", stderr.ToString(), StringComparison.Ordinal);
    }
}
