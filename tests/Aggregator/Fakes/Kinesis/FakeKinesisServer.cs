using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Gateway.Aggregator.Tests.Fakes.CloudWatchLogs.AwsJsonAnswers;

namespace Gateway.Aggregator.Tests.Fakes.Kinesis;

/// <summary>One record as a delivery stream or data stream stored it (data base64-decoded).</summary>
internal sealed record StoredKinesisRecord(byte[] Data, string? PartitionKey);

/// <summary>What one PutRecordBatch/PutRecords request looked like, for limit assertions.</summary>
internal sealed record KinesisPutCall(string Operation, string Stream, int RecordCount, long DataBytes, int Failed, string Outcome);

/// <summary>
/// An in-process Kinesis Data Firehose (<c>Firehose_20150804.PutRecordBatch</c>) and Kinesis Data Streams
/// (<c>Kinesis_20131202.PutRecords</c>) on one endpoint (Kestrel, 127.0.0.1:0). It verifies SigV4 for the service the
/// target names (<c>firehose</c> / <c>kinesis</c>), enforces the documented limits with AWS's error shapes
/// (<c>{"__type":"...","message":"..."}</c>): Firehose ≤ 500 records, ≤ 1,000 KiB per record, ≤ 4 MiB per call;
/// Kinesis ≤ 500 records, ≤ 1 MiB per record with its partition key (1-256 characters), ≤ 5 MiB per call. It can
/// answer with partial failures (per-record <c>ErrorCode</c>), throttling and 5xx. A limit a client breaks is also
/// recorded in <see cref="Violations"/> so tests fail loudly on it.
/// </summary>
internal sealed class FakeKinesisServer : IAsyncDisposable
{
    public const string AccessKey = "AKIDFAKEKINESIS00001";
    public const string SecretKey = "fake/secret/key/for/kinesis/sigv4/00000";
    public const string Region = "ap-northeast-2";

    public const int FirehoseMaxRecords = 500;
    public const int FirehoseMaxRecordBytes = 1_024_000;
    public const int FirehoseMaxRequestBytes = 4 * 1024 * 1024;
    public const int StreamsMaxRecords = 500;
    public const int StreamsMaxRecordBytes = 1024 * 1024;
    public const int StreamsMaxRequestBytes = 5 * 1024 * 1024;

    private readonly ConcurrentDictionary<string, List<StoredKinesisRecord>> _deliveryStreams = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, List<StoredKinesisRecord>> _dataStreams = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<KinesisPutCall> _calls = new();
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly Dictionary<string, string> _secrets = new(StringComparer.Ordinal) { [AccessKey] = SecretKey };
    private readonly PercentRoll _roll;
    private long _sequence = 49_000_000_000_000_000;
    private int _injectedFaults;
    private int _failedRecords;
    private FakeHttpServer? _http;

    public FakeKinesisServer(int seed = 4242)
    {
        _roll = new PercentRoll(seed);
    }

    public Uri Endpoint { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Share of requests (0-100) refused whole with throttling (Firehose ServiceUnavailableException, Kinesis ProvisionedThroughputExceededException).</summary>
    public double ThrottlePercent { get; set; }

    /// <summary>Share of requests (0-100) answered 500 InternalFailure.</summary>
    public double ServerErrorPercent { get; set; }

    /// <summary>Share of records (0-100) of an accepted request that fail on their own (partial failure).</summary>
    public double RecordFailurePercent { get; set; }

    /// <summary>Answer every request with AccessDeniedException.</summary>
    public bool DenyAll { get; set; }

    public IReadOnlyCollection<KinesisPutCall> Calls => _calls;

    public IReadOnlyCollection<string> Violations => _violations;

    /// <summary>Requests refused whole by injection (throttle or 5xx).</summary>
    public int InjectedFaults => Volatile.Read(ref _injectedFaults);

    /// <summary>Records failed on their own by injection.</summary>
    public int FailedRecords => Volatile.Read(ref _failedRecords);

    public void CreateDeliveryStream(string name) => _deliveryStreams.TryAdd(name, []);

    public void CreateDataStream(string name) => _dataStreams.TryAdd(name, []);

    /// <summary>Records a delivery stream accepted, in order.</summary>
    public IReadOnlyList<StoredKinesisRecord> DeliveryStreamRecords(string name) => Snapshot(_deliveryStreams, name);

    public IReadOnlyList<StoredKinesisRecord> DataStreamRecords(string name) => Snapshot(_dataStreams, name);

    /// <summary>
    /// What a Firehose S3 destination without a processor writes: the records' bytes concatenated, as they arrived
    /// (Firehose adds no delimiter of its own).
    /// </summary>
    public byte[] DeliveredObject(string deliveryStream)
    {
        using var buffer = new MemoryStream();
        foreach (var record in DeliveryStreamRecords(deliveryStream))
        {
            buffer.Write(record.Data);
        }

        return buffer.ToArray();
    }

    public async Task StartAsync()
    {
        // Well above Kestrel's default (30 MB), so even a grossly oversized request gets the fake's AWS-shaped answer, not Kestrel's 413.
        _http = await FakeHttpServer.StartAsync(
            app => app.MapPost("/", HandleAsync),
            configure: kestrel => kestrel.Limits.MaxRequestBodySize = 64 * 1024 * 1024);
        Endpoint = _http.Endpoint;
    }

    private static IReadOnlyList<StoredKinesisRecord> Snapshot(ConcurrentDictionary<string, List<StoredKinesisRecord>> streams, string name)
    {
        if (!streams.TryGetValue(name, out var list))
        {
            return [];
        }

        lock (list)
        {
            return [.. list];
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var (status, response) = Dispatch(context.Request, await ReadBodyAsync(context.Request));
        await WriteAsync(context.Response, status, AwsJsonAnswers.ContentType, response);
    }

    private (int Status, string Body) Dispatch(HttpRequest request, byte[] body)
    {
        if (!request.ContentType?.StartsWith(AwsJsonAnswers.ContentType, StringComparison.Ordinal) ?? true)
        {
            return Error(400, "SerializationException", $"unexpected Content-Type '{request.ContentType}'");
        }

        var target = request.Headers["X-Amz-Target"].ToString();
        var (service, operation) = target switch
        {
            "Firehose_20150804.PutRecordBatch" => ("firehose", "PutRecordBatch"),
            "Kinesis_20131202.PutRecords" => ("kinesis", "PutRecords"),
            _ => (string.Empty, target),
        };
        if (service.Length == 0)
        {
            return Error(400, "UnknownOperationException", $"operation '{target}' is not supported by the fake");
        }

        if (SigV4Verifier.Verify(request, body, _secrets, service, DateTimeOffset.UtcNow) is { } signatureError)
        {
            return Error(signatureError.Type == "UnrecognizedClientException" ? 400 : 403, signatureError.Type, signatureError.Message);
        }

        if (DenyAll)
        {
            return Error(400, "AccessDeniedException", $"User: arn:aws:iam::123456789012:user/test is not authorized to perform: {service}:{operation}");
        }

        var roll = _roll.Next();
        if (roll < ThrottlePercent + ServerErrorPercent)
        {
            Interlocked.Increment(ref _injectedFaults);
            if (roll < ThrottlePercent)
            {
                return service == "firehose"
                    ? Error(503, "ServiceUnavailableException", "Slow down.")
                    : Error(400, "ProvisionedThroughputExceededException", "Rate exceeded for stream under account 123456789012.");
            }

            return Error(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.");
        }

        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(body);
            root = doc.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            return Error(400, "SerializationException", ex.Message);
        }

        return service == "firehose" ? PutRecordBatch(root) : PutRecords(root);
    }

    private (int, string) PutRecordBatch(JsonElement root)
    {
        const string operation = "PutRecordBatch";
        var stream = Str(root, "DeliveryStreamName") ?? string.Empty;
        if (ParseRecords(root, operation, stream, withPartitionKey: false, FirehoseMaxRecords, FirehoseMaxRecordBytes, FirehoseMaxRequestBytes, out var records) is { } invalid)
        {
            return invalid;
        }

        if (!_deliveryStreams.TryGetValue(stream, out var stored))
        {
            return NotFound(operation, stream, records, $"Firehose {stream} under account 123456789012 not found.");
        }

        var responses = Store(
            records,
            stored,
            new Dictionary<string, string> { ["ErrorCode"] = "ServiceUnavailableException", ["ErrorMessage"] = "Slow down." },
            () => new Dictionary<string, string> { ["RecordId"] = Convert.ToBase64String(Guid.NewGuid().ToByteArray()) },
            out var failed);
        _calls.Enqueue(new KinesisPutCall(operation, stream, records.Count, DataBytes(records), failed, "OK"));
        return Ok(JsonSerializer.Serialize(new Dictionary<string, object> { ["FailedPutCount"] = failed, ["Encrypted"] = false, ["RequestResponses"] = responses }));
    }

    private (int, string) PutRecords(JsonElement root)
    {
        const string operation = "PutRecords";
        var stream = Str(root, "StreamName") ?? string.Empty;
        if (ParseRecords(root, operation, stream, withPartitionKey: true, StreamsMaxRecords, StreamsMaxRecordBytes, StreamsMaxRequestBytes, out var records) is { } invalid)
        {
            return invalid;
        }

        if (!_dataStreams.TryGetValue(stream, out var stored))
        {
            return NotFound(operation, stream, records, $"Stream {stream} under account 123456789012 not found.");
        }

        var responses = Store(
            records,
            stored,
            new Dictionary<string, string>
            {
                ["ErrorCode"] = "ProvisionedThroughputExceededException",
                ["ErrorMessage"] = $"Rate exceeded for shard shardId-000000000000 in stream {stream} under account 123456789012.",
            },
            () => new Dictionary<string, string>
            {
                ["SequenceNumber"] = Interlocked.Increment(ref _sequence).ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["ShardId"] = "shardId-000000000000",
            },
            out var failed);
        _calls.Enqueue(new KinesisPutCall(operation, stream, records.Count, DataBytes(records), failed, "OK"));
        return Ok(JsonSerializer.Serialize(new Dictionary<string, object> { ["FailedRecordCount"] = failed, ["Records"] = responses, ["EncryptionType"] = "NONE" }));
    }

    /// <summary>
    /// Stores each record in order unless injection fails it (<see cref="RecordFailurePercent"/>); returns the
    /// per-record answers, <paramref name="failure"/> for a failed one and a fresh <paramref name="accepted"/> answer otherwise.
    /// </summary>
    private List<Dictionary<string, string>> Store(
        List<StoredKinesisRecord> records,
        List<StoredKinesisRecord> stored,
        Dictionary<string, string> failure,
        Func<Dictionary<string, string>> accepted,
        out int failed)
    {
        var responses = new List<Dictionary<string, string>>(records.Count);
        failed = 0;
        lock (stored)
        {
            foreach (var record in records)
            {
                if (FailThisRecord())
                {
                    failed++;
                    responses.Add(failure);
                    continue;
                }

                stored.Add(record);
                responses.Add(accepted());
            }
        }

        return responses;
    }

    private (int, string) NotFound(string operation, string stream, List<StoredKinesisRecord> records, string message)
    {
        _calls.Enqueue(new KinesisPutCall(operation, stream, records.Count, DataBytes(records), 0, "ResourceNotFoundException"));
        return Error(400, "ResourceNotFoundException", message);
    }

    private static long DataBytes(List<StoredKinesisRecord> records) => records.Sum(r => (long)r.Data.Length);

    /// <summary>Reads and checks <c>Records</c>; null when valid, else the error AWS gives (also a violation).</summary>
    private (int, string)? ParseRecords(JsonElement root, string operation, string stream, bool withPartitionKey, int maxRecords, int maxRecordBytes, int maxRequestBytes, out List<StoredKinesisRecord> records)
    {
        records = [];
        if (stream.Length is 0 or > 64)
        {
            var field = withPartitionKey ? "streamName" : "deliveryStreamName";
            return Violation(operation, stream, 0, 0, "ValidationException", $"1 validation error detected: Value '{stream}' at '{field}' failed to satisfy constraint: Member must have length between 1 and 64");
        }

        if (!root.TryGetProperty("Records", out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            return Violation(operation, stream, 0, 0, "ValidationException", "1 validation error detected: Value '[]' at 'records' failed to satisfy constraint: Member must have length greater than or equal to 1");
        }

        if (list.GetArrayLength() > maxRecords)
        {
            return Violation(operation, stream, list.GetArrayLength(), 0, "ValidationException", $"1 validation error detected: Value at 'records' failed to satisfy constraint: Member must have length less than or equal to {maxRecords}");
        }

        long total = 0;
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            index++;
            if (!item.TryGetProperty("Data", out var dataElement) || dataElement.ValueKind != JsonValueKind.String)
            {
                return Violation(operation, stream, index, total, "ValidationException", $"1 validation error detected: Value null at 'records.{index}.member.data' failed to satisfy constraint: Member must not be null");
            }

            byte[] data;
            try
            {
                data = Convert.FromBase64String(dataElement.GetString()!);
            }
            catch (FormatException)
            {
                return Violation(operation, stream, index, total, "SerializationException", $"Base64 encoded data at 'records.{index}.member.data' is not valid");
            }

            string? key = null;
            if (withPartitionKey)
            {
                key = item.TryGetProperty("PartitionKey", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
                if (string.IsNullOrEmpty(key) || key.Length > 256)
                {
                    return Violation(operation, stream, index, total, "ValidationException", $"1 validation error detected: Value '{key}' at 'records.{index}.member.partitionKey' failed to satisfy constraint: Member must have length between 1 and 256");
                }
            }

            var size = data.Length + (key is null ? 0 : Encoding.UTF8.GetByteCount(key));
            if (data.Length == 0 && !withPartitionKey)
            {
                return Violation(operation, stream, index, total, "ValidationException", $"1 validation error detected: Value at 'records.{index}.member.data' failed to satisfy constraint: Member must have length greater than or equal to 1");
            }

            if (size > maxRecordBytes)
            {
                return Violation(operation, stream, index, total, "ValidationException", $"1 validation error detected: Value at 'records.{index}.member.data' failed to satisfy constraint: Member must have length less than or equal to {maxRecordBytes}");
            }

            total += size;
            records.Add(new StoredKinesisRecord(data, key));
        }

        if (total > maxRequestBytes)
        {
            return Violation(operation, stream, records.Count, total, "InvalidArgumentException", $"Records size exceeds {maxRequestBytes / (1024 * 1024)} MB limit");
        }

        return null;
    }

    private bool FailThisRecord()
    {
        if (RecordFailurePercent <= 0 || _roll.Next() >= RecordFailurePercent)
        {
            return false;
        }

        Interlocked.Increment(ref _failedRecords);
        return true;
    }

    private (int, string) Violation(string operation, string stream, int count, long bytes, string type, string message)
    {
        _violations.Enqueue($"{operation} {stream}: {type}: {message}");
        _calls.Enqueue(new KinesisPutCall(operation, stream, count, bytes, 0, type));
        return Error(400, type, message);
    }

    public async ValueTask DisposeAsync()
    {
        if (_http is not null)
        {
            await _http.DisposeAsync();
        }
    }
}
