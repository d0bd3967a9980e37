using System.Collections.Concurrent;
using System.Text;
using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Outputs.Kinesis;
using Gateway.Engine.Aws;
using Gateway.Engine.Pipeline;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Outputs.Kinesis;

/// <summary>
/// The output's retry rule against a scripted service and a fake clock: a partly failed request is resent with only
/// its failed records, and only after the backoff has elapsed on the output's clock.
/// </summary>
public sealed class KinesisRetryTests
{
    [Fact]
    public async Task Failed_records_are_resent_alone_and_only_after_the_backoff()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(50));
        var client = new ScriptedKinesisClient();

        // First answer: records 1 and 3 of 4 fail; second: all accepted.
        client.Answers.Enqueue(codes => Partial(codes, 1, 3));
        client.Answers.Enqueue(codes => Partial(codes));
        await using var output = Output(client, clock, maxAttempts: 5);
        var chunk = KinesisTestData.Chunk(["""{"n":0}""", """{"n":1}""", """{"n":2}""", """{"n":3}"""]);

        var flush = output.FlushAsync(chunk, CancellationToken.None).AsTask();
        await client.WaitForRequestsAsync(1);

        // The resend waits for the backoff (base 1 s, cap 1 s: somewhere in (0, 1 s]).
        await Task.Delay(50);
        Assert.Single(client.Requests);
        Assert.False(flush.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        Assert.Equal(FlushResult.Ok, await flush.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, client.Requests.Count);
        Assert.Equal(["{\"n\":0}\n", "{\"n\":1}\n", "{\"n\":2}\n", "{\"n\":3}\n"], client.Requests.First());
        Assert.Equal(["{\"n\":1}\n", "{\"n\":3}\n"], client.Requests.Last());
        Assert.Equal(2, output.Metrics.RetriedCount);
        Assert.Equal(4, output.Metrics.SentCount);
    }

    [Fact]
    public async Task After_the_last_attempt_the_chunk_goes_back_to_the_engine_and_its_retry_sends_only_the_rest()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddYears(50));
        var client = new ScriptedKinesisClient();
        client.Answers.Enqueue(codes => Partial(codes, 0));
        client.Answers.Enqueue(_ => new AwsJsonResponse(400, Encoding.UTF8.GetBytes("""{"__type":"ThrottlingException","message":"Rate exceeded"}"""), "ThrottlingException", "Rate exceeded", AwsErrorKind.Transient));
        client.Answers.Enqueue(codes => Partial(codes));
        await using var output = Output(client, clock, maxAttempts: 2);
        var chunk = KinesisTestData.Chunk(["""{"n":0}""", """{"n":1}"""]);

        var first = output.FlushAsync(chunk, CancellationToken.None).AsTask();
        await client.WaitForRequestsAsync(1);
        await Task.Delay(50);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(FlushResult.Retry, await first.WaitAsync(TimeSpan.FromSeconds(30)));

        // The engine's retry of the same chunk: record 1 went through the first time and is not sent again.
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal([["{\"n\":0}\n", "{\"n\":1}\n"], ["{\"n\":0}\n"], ["{\"n\":0}\n"]], client.Requests);
    }

    private static KinesisOutput Output(ScriptedKinesisClient client, FakeTimeProvider clock, int maxAttempts)
    {
        var section = KinesisTestData.Section("kinesis_firehose", ("region", "us-east-1"), ("delivery_stream", "s"));
        var settings = KinesisOutputFactory.ReadSettings(section, NullLogger.Instance) with
        {
            BackoffBase = TimeSpan.FromSeconds(1),
            BackoffCap = TimeSpan.FromSeconds(1),
            MaxAttempts = maxAttempts,
        };
        var context = new OutputContext { InstanceName = "kinesis_firehose.0", TimeProvider = clock };
        return new KinesisOutput(context.InstanceName, settings, client, context, NullLogger.Instance);
    }

    private static AwsJsonResponse Partial(string[] records, params int[] failed)
    {
        var responses = new List<string>();
        for (var i = 0; i < records.Length; i++)
        {
            responses.Add(Array.IndexOf(failed, i) >= 0
                ? """{"ErrorCode":"ServiceUnavailableException","ErrorMessage":"Slow down."}"""
                : """{"RecordId":"id"}""");
        }

        var body = $$"""{"FailedPutCount":{{failed.Length}},"Encrypted":false,"RequestResponses":[{{string.Join(',', responses)}}]}""";
        return AwsErrorParser.Parse(200, Encoding.UTF8.GetBytes(body), null);
    }

    /// <summary>Answers requests from a script and records each request's record texts.</summary>
    private sealed class ScriptedKinesisClient : IKinesisRecordsClient
    {
        private readonly SemaphoreSlim _requestSeen = new(0);

        public ConcurrentQueue<Func<string[], AwsJsonResponse>> Answers { get; } = new();

        public ConcurrentQueue<string[]> Requests { get; } = new();

        public KinesisService Service => KinesisService.Firehose;

        public async Task WaitForRequestsAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await _requestSeen.WaitAsync(TimeSpan.FromSeconds(30)), "no request was sent");
            }
        }

        public Task<KinesisPutResult> PutRecordsAsync(string streamName, ReadOnlyMemory<byte> data, ReadOnlyMemory<byte> keys, ReadOnlyMemory<KinesisRecordSlice> records, CancellationToken cancellationToken)
        {
            var texts = new string[records.Length];
            for (var i = 0; i < texts.Length; i++)
            {
                var slice = records.Span[i];
                texts[i] = Encoding.UTF8.GetString(data.Span.Slice(slice.DataStart, slice.DataLength));
            }

            Requests.Enqueue(texts);
            _requestSeen.Release();
            Assert.True(Answers.TryDequeue(out var answer), "more requests than scripted answers");
            var response = answer(texts);
            return Task.FromResult(response.IsSuccess
                ? KinesisRecordsClient.ParseAnswer(response, firehose: true, texts.Length)
                : new KinesisPutResult(response, texts.Length, new string?[texts.Length], null));
        }

        public void Dispose() => _requestSeen.Dispose();
    }
}
