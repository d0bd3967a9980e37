using System.Buffers;
using Amazon.Runtime;
using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Outputs.Kinesis;
using Gateway.Aggregator.Tests.Fakes.Kinesis;
using Gateway.Engine.Aws;
using Gateway.Engine.Config;
using Gateway.Engine.Records;
using Gateway.Tests.Shared;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Outputs.Kinesis;

/// <summary>Sections, chunks and outputs pointed at <see cref="FakeKinesisServer"/>.</summary>
internal static class KinesisTestData
{
    public static BasicAWSCredentials Credentials => new(FakeKinesisServer.AccessKey, FakeKinesisServer.SecretKey);

    public static ConfigSection Section(string plugin, params (string Key, string Value)[] entries) => TestSections.Output(plugin, entries);

    /// <summary>The output built from <paramref name="section"/> as the factory does, against the fake, with small backoffs.</summary>
    public static KinesisOutput Output(FakeKinesisServer fake, ConfigSection section, Func<KinesisOutputSettings, KinesisOutputSettings>? adjust = null)
    {
        var withEndpoint = new ConfigSection(section.Kind, section.Header, section.Location,
            [.. section.Entries, new ConfigEntry("endpoint", fake.Endpoint.ToString(), new ConfigLocation("test.conf", 99))]);
        var settings = KinesisOutputFactory.ReadSettings(withEndpoint, NullLogger.Instance) with
        {
            BackoffBase = TimeSpan.FromMilliseconds(2),
            BackoffCap = TimeSpan.FromMilliseconds(20),
        };
        settings = adjust?.Invoke(settings) ?? settings;
        var context = new OutputContext { InstanceName = settings.Plugin + ".0", LoggerFactory = NullLoggerFactory.Instance };
        var client = KinesisRecordsClient.Create(settings.Service, settings.Region, settings.Endpoint, Credentials);
        return new KinesisOutput(context.InstanceName, settings, client, context, NullLogger.Instance);
    }

    /// <summary>A chunk whose records are the given JSON objects (packed like Fluent Bit), all at <paramref name="time"/>.</summary>
    public static EventChunk Chunk(IEnumerable<string> jsonRecords, EventTime? time = null, string tag = "kube.app")
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        var count = 0;
        foreach (var json in jsonRecords)
        {
            EventWriter.WriteEvent(ref writer, time ?? new EventTime(1_577_521_193, 704_659_587), JsonMsgpack.FromJson(json));
            count++;
        }

        writer.Flush();
        return new EventChunk(tag, buffer.WrittenSpan.ToArray(), count);
    }

    public static IEnumerable<string> Numbered(int count, int padding = 0)
    {
        var pad = new string('x', padding);
        for (var i = 0; i < count; i++)
        {
            yield return $$"""{"seq":{{i}},"pad":"{{pad}}"}""";
        }
    }
}
