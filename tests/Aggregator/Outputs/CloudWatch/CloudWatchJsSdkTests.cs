using System.Diagnostics;
using System.Text;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

/// <summary>
/// The AWS JS SDK v3 (tests/clients/cloudwatch-sdk, pinned in its package-lock.json) against the fake: proves
/// the fake speaks the real protocol — SigV4 as the SDK signs it, error shapes as the SDK parses them.
/// </summary>
public sealed class CloudWatchJsSdkTests : IAsyncLifetime
{
    private readonly FakeCloudWatchLogsServer _fake = new();

    public Task InitializeAsync() => _fake.StartAsync();

    public async Task DisposeAsync() => await _fake.DisposeAsync();

    [Fact]
    public async Task Aws_js_sdk_creates_puts_reads_and_gets_the_expected_errors()
    {
        var directory = Path.Combine(RepositoryPaths.ClientsDirectory, "cloudwatch-sdk");
        if (!Directory.Exists(Path.Combine(directory, "node_modules", "@aws-sdk", "client-cloudwatch-logs")))
        {
            throw new InvalidOperationException($"{directory}/node_modules is missing: run npm ci in that folder (.ci/run does)");
        }

        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("script.js");
        info.ArgumentList.Add(_fake.Endpoint.ToString());
        info.Environment["AWS_ACCESS_KEY_ID"] = FakeCloudWatchLogsServer.AccessKey;
        info.Environment["AWS_SECRET_ACCESS_KEY"] = FakeCloudWatchLogsServer.SecretKey;
        info.Environment["AWS_REGION"] = FakeCloudWatchLogsServer.Region;
        info.Environment.Remove("AWS_SESSION_TOKEN");
        info.Environment.Remove("AWS_PROFILE");

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        Assert.True(process.ExitCode == 0, output);
        Assert.Contains("all checks passed", output);
        Assert.Equal(["first", "second \"quoted\" ünïcode", "third"], _fake.Events("/sdk/proof", "node-1-app").Select(e => e.Message));
    }
}
