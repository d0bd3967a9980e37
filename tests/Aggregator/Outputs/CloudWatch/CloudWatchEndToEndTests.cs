using System.Diagnostics;
using System.Text.Json;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

/// <summary>
/// The real aggregator process: forward in, <c>cloudwatch_logs</c> out to the fake, credentials from the
/// environment through AWSSDK.Core's default chain, 5% throttling on the way. Every record arrives once.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class CloudWatchEndToEndTests : IAsyncLifetime
{
    private readonly FakeCloudWatchLogsServer _fake = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-e2e-cloudwatch-").FullName;

    public Task InitializeAsync() => _fake.StartAsync();

    public async Task DisposeAsync()
    {
        await _fake.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Aggregator_delivers_forwarded_records_to_cloudwatch_with_env_credentials()
    {
        const int chunks = 20;
        const int recordsPerChunk = 500;
        _fake.ThrottlePercent = 5;
        var forwardPort = FreePort.Next();
        var httpPort = FreePort.Next();
        var config = $$"""
            [SERVICE]
                Flush        1
                Log_Level    warn
                HTTP_Server  On
                HTTP_Listen  127.0.0.1
                HTTP_Port    {{httpPort}}

            [INPUT]
                Name    forward
                Listen  127.0.0.1
                Port    {{forwardPort}}

            [OUTPUT]
                Name               cloudwatch_logs
                Match              *
                region             ${AWS_REGION}
                endpoint           {{_fake.Endpoint}}
                log_group_name     /eks/e2e/pipeline
                log_stream_prefix  ${HOST_NAME}-
                auto_create_group  true
                Retry_Limit        no_limits
            """;
        var environment = new Dictionary<string, string>
        {
            ["AWS_ACCESS_KEY_ID"] = FakeCloudWatchLogsServer.AccessKey,
            ["AWS_SECRET_ACCESS_KEY"] = FakeCloudWatchLogsServer.SecretKey,
            ["AWS_REGION"] = FakeCloudWatchLogsServer.Region,
            ["AWS_SESSION_TOKEN"] = string.Empty,
            ["AWS_PROFILE"] = string.Empty,
            ["AWS_EC2_METADATA_DISABLED"] = "true",
            ["HOST_NAME"] = "aggregator-0",
        };

        await using var aggregator = AggregatorProcess.Start(_dir, config, httpPort, environment);
        await aggregator.WaitReadyAsync();
        var sender = new AckedChunkSender(forwardPort, "app.web", recordsPerChunk);
        await sender.RunAsync(CancellationToken.None, maxChunks: chunks).WaitAsync(TimeSpan.FromSeconds(90));

        // The plain forward client names no node, so ${HOST_NAME} is the aggregator's own, as in Fluent Bit.
        const string stream = "aggregator-0-app.web";
        var deadline = Stopwatch.StartNew();
        while (_fake.Events("/eks/e2e/pipeline", stream).Count < chunks * recordsPerChunk && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(200);
        }

        var seqs = _fake.Events("/eks/e2e/pipeline", stream)
            .Select(e => JsonDocument.Parse(e.Message).RootElement.GetProperty("seq").GetString())
            .ToList();
        Assert.True(seqs.Count == chunks * recordsPerChunk, $"{seqs.Count} of {chunks * recordsPerChunk} records arrived; streams: {string.Join(", ", _fake.StreamNames("/eks/e2e/pipeline"))}\n{aggregator.Log}");
        Assert.Equal(seqs.Count, seqs.Distinct().Count());
        Assert.Empty(_fake.Violations);
    }
}
