using Gateway.Engine.Config;
using Gateway.Engine.Hosting;
using Gateway.Shipper.Hosting;

namespace Gateway.Shipper.Tests.Hosting;

public sealed class ShipperProgramTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-shipper-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ConfigFile()
    {
        var path = Path.Combine(_dir, "fluent-bit.conf");
        File.WriteAllText(path, "[SERVICE]\n");
        return path;
    }

    private static ConfigDocument Service(params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry>();
        for (var i = 0; i < entries.Length; i++)
        {
            list.Add(new ConfigEntry(entries[i].Key, entries[i].Value, new ConfigLocation("shipper.conf", i + 2)));
        }

        return new ConfigDocument("shipper.conf", [new ConfigSection(SectionKind.Service, "SERVICE", new ConfigLocation("shipper.conf", 1), list)], []);
    }

    private static Task NeverRuns(ShipperRunContext context, CancellationToken token) =>
        throw new InvalidOperationException("the pipeline must not start");

    [Fact]
    public async Task Unknown_flag_exits_2_with_usage()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ShipperProgram.RunAsync(["-c", "x", "--turbo"], _ => throw new InvalidOperationException(), NeverRuns, stdout, stderr, CancellationToken.None);
        Assert.Equal(2, exit);
        Assert.StartsWith("gateway-shipper: unknown option: --turbo", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_reports_bad_log_level_with_file_and_line()
    {
        var path = ConfigFile();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ShipperProgram.RunAsync(["-c", path, "--dry-run"], _ => Service(("Log_Level", "verbose")), NeverRuns, stdout, stderr, CancellationToken.None);
        Assert.Equal(1, exit);
        Assert.Contains("shipper.conf:2: error: [SERVICE] Log_Level 'verbose' is not one of off, error, warn, info, debug, trace", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_of_clean_config_exits_0_without_starting()
    {
        var path = ConfigFile();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ShipperProgram.RunAsync(["-c", path, "--dry-run"], _ => Service(("Log_Level", "warn")), NeverRuns, stdout, stderr, CancellationToken.None);
        Assert.Equal(0, exit);
        Assert.Contains("configuration OK", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runs_pipeline_with_aggregator_override_until_stopped_then_exits_0()
    {
        var path = ConfigFile();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var stop = new CancellationTokenSource();
        ShipperRunContext? seen = null;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = ShipperProgram.RunAsync(
            ["-c", path, "-q", "--aggregator", "agg.logging:24224"],
            _ => Service(("Log_Level", "info")),
            async (context, token) =>
            {
                seen = context;
                started.SetResult();
                await ShipperProgram.Idle(context, token);
            },
            stdout,
            stderr,
            stop.Token);

        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(run.IsCompleted);
        stop.Cancel();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(new HostPort("agg.logging", 24224), seen!.Aggregator);
    }
}
