using System.Buffers;
using Amazon.Runtime;
using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Outputs.CloudWatch;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;
using Gateway.Engine.Aws;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Tests.Shared;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Outputs.CloudWatch;

/// <summary>Chunks, sections and an engine-like flush loop for CloudWatch output tests.</summary>
internal static class CloudWatchTestData
{
    public static BasicAWSCredentials Credentials => new(FakeCloudWatchLogsServer.AccessKey, FakeCloudWatchLogsServer.SecretKey);

    public static ConfigSection Section(string plugin, params (string Key, string Value)[] entries) => TestSections.Output(plugin, entries);

    /// <summary>A copy of <paramref name="section"/> pointed at the fake.</summary>
    public static ConfigSection WithEndpoint(ConfigSection section, Uri endpoint)
    {
        var list = section.Entries.Where(e => !e.Key.Equals("endpoint", StringComparison.OrdinalIgnoreCase)).ToList();
        list.Add(new ConfigEntry("endpoint", endpoint.ToString(), new ConfigLocation("test.conf", 99)));
        return new ConfigSection(section.Kind, section.Header, section.Location, list);
    }

    /// <summary>
    /// The output with small backoffs so retries do not slow the tests, and a short flush interval (a lone chunk's
    /// partial request waits that long for company) unless the test drives time itself.
    /// </summary>
    public static CloudWatchOutput Output(ConfigSection section, string hostName = "aggregator-host", TimeProvider? time = null, TimeSpan? flushInterval = null, long? maxHeldBytes = null)
    {
        var context = new OutputContext
        {
            InstanceName = "cloudwatch_logs.0",
            HostName = hostName,
            LoggerFactory = NullLoggerFactory.Instance,
            TimeProvider = time ?? TimeProvider.System,
        };
        var settings = CloudWatchOutputFactory.ReadSettings(section, NullLogger.Instance) with
        {
            BackoffBase = TimeSpan.FromMilliseconds(5),
            BackoffCap = TimeSpan.FromMilliseconds(50),
            FlushInterval = flushInterval ?? TimeSpan.FromMilliseconds(20),
            MaxHeldBytes = maxHeldBytes ?? CloudWatchOutputSettings.DefaultMaxHeldBytes,
        };
        var client = CloudWatchLogsClient.Create(settings.Region, settings.Endpoint, Credentials, settings.ExtraUserAgent, settings.MaxConcurrentRequests, logFormat: settings.LogFormat);
        return new CloudWatchOutput(context.InstanceName, settings, client, context, NullLogger.Instance);
    }

    /// <summary>msgpack events; each record is <c>{"log": message, ...extra}</c>.</summary>
    public static EventChunk Chunk(string tag, IReadOnlyList<(long TimestampMs, string Message)> events, string? nodeName = null, IReadOnlyDictionary<string, string>? extra = null)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        foreach (var (ts, message) in events)
        {
            var record = new ArrayBufferWriter<byte>();
            var recordWriter = new MessagePackWriter(record);
            recordWriter.WriteMapHeader(1 + (extra?.Count ?? 0));
            recordWriter.Write("log");
            recordWriter.Write(message);
            if (extra is not null)
            {
                foreach (var (key, value) in extra)
                {
                    recordWriter.Write(key);
                    recordWriter.Write(value);
                }
            }

            recordWriter.Flush();
            EventWriter.WriteEvent(ref writer, EventTime.FromUnixNanoseconds(ts * 1_000_000), record.WrittenSpan);
        }

        writer.Flush();
        return new EventChunk(tag, buffer.WrittenSpan.ToArray(), events.Count, nodeName);
    }

    /// <summary>As the engine does: flush, and on Retry flush the same chunk again (bounded).</summary>
    public static async Task<(FlushResult Result, int Tries)> FlushUntilDoneAsync(IOutput output, EventChunk chunk, int maxTries = 30)
    {
        for (var i = 1; ; i++)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var result = await output.FlushAsync(chunk, timeout.Token);
            if (result != FlushResult.Retry || i >= maxTries)
            {
                return (result, i);
            }
        }
    }

    public static string Fixtures => Gateway.Aggregator.Tests.EndToEnd.RepositoryPaths.Fixtures;

    public static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
}
