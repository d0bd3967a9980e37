using Gateway.Engine.Hosting;
using Gateway.Shipper.Hosting;

namespace Gateway.Shipper.Tests.Hosting;

public sealed class ShipperProgramTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-shipper-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ConfigFile(string text)
    {
        var path = Path.Combine(_dir, "fluent-bit.conf");
        File.WriteAllText(path, text);
        return path;
    }

    private static Task NeverRuns(ShipperRunContext context, CancellationToken token) =>
        throw new InvalidOperationException("the pipeline must not start");

    [Fact]
    public async Task Unknown_flag_exits_2_with_usage()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ShipperProgram.RunAsync(["-c", "x", "--turbo"], NeverRuns, stdout, stderr, CancellationToken.None);
        Assert.Equal(2, exit);
        Assert.StartsWith("gateway-shipper: unknown option: --turbo", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_config_exits_1()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var missing = Path.Combine(_dir, "missing.conf");
        Assert.Equal(1, await ShipperProgram.RunAsync(["-c", missing], NeverRuns, stdout, stderr, CancellationToken.None));
        Assert.Contains($"{missing}: error: config file not found", stderr.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_reports_bad_log_level_once_with_file_and_line()
    {
        var path = ConfigFile("""
            [SERVICE]
                Log_Level verbose
            """);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ShipperProgram.RunAsync(["-c", path, "--dry-run"], NeverRuns, stdout, stderr, CancellationToken.None);
        Assert.Equal(1, exit);
        var errors = stderr.ToString();
        Assert.Contains($"{path}:2: error:", errors, StringComparison.Ordinal);
        Assert.Single(errors.Split('\n'), line => line.StartsWith($"{path}:2:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dry_run_of_clean_config_exits_0_without_starting()
    {
        var path = ConfigFile("""
            [SERVICE]
                Log_Level warn

            [INPUT]
                Name tail
                Path /var/log/containers/*.log
                Tag  kube.*

            [OUTPUT]
                Name  forward
                Match *
                Host  aggregator
                Port  24224
            """);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await ShipperProgram.RunAsync(["-c", path, "--dry-run"], NeverRuns, stdout, stderr, CancellationToken.None);
        Assert.True(exit == 0, stderr.ToString());
        Assert.Contains("configuration OK", stdout.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Runs_pipeline_with_aggregator_override_until_stopped_then_exits_0()
    {
        var path = ConfigFile("""
            [SERVICE]
                Log_Level info
            """);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        using var stop = new CancellationTokenSource();
        ShipperRunContext? seen = null;
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var run = ShipperProgram.RunAsync(
            ["-c", path, "-q", "--aggregator", "agg.logging:24224"],
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
        Assert.Equal([new HostPort("agg.logging", 24224)], seen!.Aggregators);
        Assert.Equal(path, seen.Config.MainFile);
    }
}
