using Gateway.Aggregator.Hosting;
using Gateway.Aggregator.Outputs;

namespace Gateway.Aggregator.Tests.Hosting;

public sealed class AggregatorProgramTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string ConfigFile(string text)
    {
        var path = Path.Combine(_dir, "fluent-bit.conf");
        File.WriteAllText(path, text);
        return path;
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await AggregatorProgram.RunAsync(args, OutputFactory.Create, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Unknown_flag_exits_2_with_usage()
    {
        var (exit, _, stderr) = await RunAsync("--frobnicate");
        Assert.Equal(2, exit);
        Assert.Contains("unknown option: --frobnicate", stderr, StringComparison.Ordinal);
        Assert.Contains("Usage:", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_config_file_exits_1_naming_it()
    {
        var missing = Path.Combine(_dir, "nope.conf");
        var (exit, _, stderr) = await RunAsync("-c", missing, "--dry-run");
        Assert.Equal(1, exit);
        Assert.Contains($"{missing}: error: config file not found", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_reports_every_error_with_file_and_line()
    {
        var path = ConfigFile("""
            [SERVICE]
                Log_Level    chatty
                HTTP_Port    2020

            [INPUT]
                Name   tail
                Path   /var/log/*.log

            [INPUT]
                Name   forward
                Port   99999

            [OUTPUT]
                Name   file
                Match  *
                Format yaml
            """);
        var (exit, _, stderr) = await RunAsync("-c", path, "--dry-run");

        Assert.Equal(1, exit);
        Assert.Contains($"{path}:2: error:", stderr, StringComparison.Ordinal);
        Assert.Contains("chatty", stderr, StringComparison.Ordinal);
        // tail is a node input: in a whole-system config the shipper runs it, so it is no error here.
        Assert.DoesNotContain($"{path}:6: error", stderr, StringComparison.Ordinal);
        Assert.Contains($"{path}:11: error:", stderr, StringComparison.Ordinal);
        Assert.Contains($"{path}:16: error:", stderr, StringComparison.Ordinal);
        Assert.Contains("yaml", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dry_run_of_a_clean_config_exits_0()
    {
        var path = ConfigFile($"""
            [SERVICE]
                HTTP_Server On
                Log_Level   info

            [INPUT]
                Name  forward
                Port  24224

            [OUTPUT]
                Name  file
                Match *
                Path  {_dir}
            """);
        var (exit, stdout, stderr) = await RunAsync("-c", path, "--dry-run");
        Assert.True(exit == 0, stderr);
        Assert.Contains("configuration OK (3 section(s)", stdout, StringComparison.Ordinal);
        Assert.Equal(string.Empty, stderr);
    }

    [Fact]
    public async Task Dry_run_accepts_the_local_run_config()
    {
        // scripts/run-local.sh gives each program its own HTTP port through this variable.
        Environment.SetEnvironmentVariable("HTTP_PORT", "2020");
        var path = Path.Combine(Gateway.Aggregator.Tests.EndToEnd.RepositoryPaths.RepositoryRoot, "scripts", "local", "gateway.conf");
        var (exit, _, stderr) = await RunAsync("-c", path, "--dry-run");
        Assert.True(exit == 0, stderr);
    }

    [Fact]
    public async Task Normal_start_refuses_a_config_with_errors_without_starting()
    {
        var path = ConfigFile("""
            [SERVICE]
                HTTP_Port x
            """);
        var (exit, _, stderr) = await RunAsync("-c", path);
        Assert.Equal(1, exit);
        Assert.Contains($"{path}:2: error:", stderr, StringComparison.Ordinal);
    }
}
