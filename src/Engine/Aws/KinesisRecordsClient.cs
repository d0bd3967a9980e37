using System.Buffers.Text;
using System.Text.Json;
using Amazon.Runtime;
using Gateway.Engine.Buffers;

namespace Gateway.Engine.Aws;

/// <summary>Which of the two record-batch APIs a <see cref="KinesisRecordsClient"/> speaks.</summary>
internal enum KinesisService
{
    /// <summary>Kinesis Data Firehose <c>PutRecordBatch</c> (<c>Firehose_20150804</c>, SigV4 service <c>firehose</c>).</summary>
    Firehose,

    /// <summary>Kinesis Data Streams <c>PutRecords</c> (<c>Kinesis_20131202</c>, SigV4 service <c>kinesis</c>), records carry a partition key.</summary>
    Streams,
}

/// <summary>
/// One record of a batch: its data bytes in <c>data</c> and (Streams only) its partition key's UTF-8 bytes in
/// <c>keys</c>, both by offset, so a whole flush is two pooled buffers and an array of these.
/// </summary>
internal readonly record struct KinesisRecordSlice(int DataStart, int DataLength, int KeyStart, int KeyLength);

/// <summary>
/// The answer to one PutRecordBatch/PutRecords call. On HTTP success <see cref="ErrorCodes"/> holds, per record of
/// the request in order, null (stored) or the record's <c>ErrorCode</c> (e.g. <c>ServiceUnavailableException</c>,
/// <c>ProvisionedThroughputExceededException</c>, <c>InternalFailure</c>).
/// </summary>
internal sealed record KinesisPutResult(AwsJsonResponse Response, int FailedCount, string?[] ErrorCodes, string? FirstErrorMessage)
{
    public bool IsSuccess => Response.IsSuccess;
}

/// <summary>The record-batch call of Firehose or Kinesis Data Streams; an interface so tests can script answers.</summary>
internal interface IKinesisRecordsClient : IDisposable
{
    KinesisService Service { get; }

    /// <summary>Sends <paramref name="records"/> (base64-encoded here) to <paramref name="streamName"/>.</summary>
    Task<KinesisPutResult> PutRecordsAsync(string streamName, ReadOnlyMemory<byte> data, ReadOnlyMemory<byte> keys, ReadOnlyMemory<KinesisRecordSlice> records, CancellationToken cancellationToken);
}

/// <summary>
/// Firehose <c>PutRecordBatch</c> and Kinesis <c>PutRecords</c> over <see cref="AwsJsonClient"/>. The two APIs differ
/// only in names (stream field, operation, response fields) and the partition key, so one class serves both.
/// </summary>
internal sealed class KinesisRecordsClient : IKinesisRecordsClient
{
    public const string FirehoseTargetPrefix = "Firehose_20150804";
    public const string StreamsTargetPrefix = "Kinesis_20131202";

    private readonly AwsJsonClient _client;

    public KinesisRecordsClient(AwsJsonClient client, KinesisService service)
    {
        _client = client;
        Service = service;
    }

    public KinesisService Service { get; }

    public AwsJsonClient Transport => _client;

    public static KinesisRecordsClient Create(KinesisService service, string region, Uri? endpoint, AWSCredentials credentials, string? extraUserAgent = null, int maxConcurrency = 8, TimeProvider? time = null) =>
        new(new AwsJsonClient(
            new AwsJsonClientSettings
            {
                SigningService = service == KinesisService.Firehose ? "firehose" : "kinesis",
                TargetPrefix = service == KinesisService.Firehose ? FirehoseTargetPrefix : StreamsTargetPrefix,
                Region = region,
                Endpoint = endpoint,
                ExtraUserAgent = extraUserAgent,
                MaxConcurrency = maxConcurrency,
            },
            credentials,
            time), service);

    public async Task<KinesisPutResult> PutRecordsAsync(string streamName, ReadOnlyMemory<byte> data, ReadOnlyMemory<byte> keys, ReadOnlyMemory<KinesisRecordSlice> records, CancellationToken cancellationToken)
    {
        var firehose = Service == KinesisService.Firehose;
        var body = new PooledBufferWriter(EstimateBodySize(records.Span) + streamName.Length + 64);
        try
        {
            WriteBody(body, firehose, streamName, data.Span, keys.Span, records.Span);
            var response = await _client.SendAsync(firehose ? "PutRecordBatch" : "PutRecords", body.WrittenMemory, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccess)
            {
                return new KinesisPutResult(response, records.Length, new string?[records.Length], null);
            }

            return ParseAnswer(response, firehose, records.Length);
        }
        finally
        {
            body.Dispose();
        }
    }

    private static int EstimateBodySize(ReadOnlySpan<KinesisRecordSlice> records)
    {
        long size = 0;
        foreach (var record in records)
        {
            size += Base64.GetMaxEncodedToUtf8Length(record.DataLength) + record.KeyLength + 40;
        }

        return (int)Math.Min(size, int.MaxValue / 2);
    }

    /// <summary>
    /// <c>{"DeliveryStreamName":"s","Records":[{"Data":"b64"},...]}</c> or
    /// <c>{"StreamName":"s","Records":[{"Data":"b64","PartitionKey":"k"},...]}</c>; base64 straight into the body.
    /// </summary>
    internal static void WriteBody(PooledBufferWriter body, bool firehose, string streamName, ReadOnlySpan<byte> data, ReadOnlySpan<byte> keys, ReadOnlySpan<KinesisRecordSlice> records)
    {
        body.Write(firehose ? "{\"DeliveryStreamName\":"u8 : "{\"StreamName\":"u8);
        WriteJsonString(body, streamName);
        body.Write(",\"Records\":["u8);
        for (var i = 0; i < records.Length; i++)
        {
            var record = records[i];
            body.Write(i == 0 ? "{\"Data\":\""u8 : ",{\"Data\":\""u8);
            var source = data.Slice(record.DataStart, record.DataLength);
            var target = body.GetSpan(Base64.GetMaxEncodedToUtf8Length(source.Length));
            Base64.EncodeToUtf8(source, target, out _, out var written);
            body.Advance(written);
            body.Write("\""u8);
            if (!firehose)
            {
                body.Write(",\"PartitionKey\":"u8);
                WriteJsonString(body, keys.Slice(record.KeyStart, record.KeyLength));
            }

            body.Write("}"u8);
        }

        body.Write("]}"u8);
    }

    private static void WriteJsonString(PooledBufferWriter body, string text)
    {
        using var json = new Utf8JsonWriter(body);
        json.WriteStringValue(text);
    }

    /// <summary>
    /// A partition key as a JSON string, escaped by hand: this runs once per record, where a
    /// <see cref="Utf8JsonWriter"/> would be an allocation each time. UTF-8 is copied as is (JSON allows it);
    /// only quote, backslash and control characters are escaped.
    /// </summary>
    private static void WriteJsonString(PooledBufferWriter body, ReadOnlySpan<byte> utf8)
    {
        body.Write("\""u8);
        var plainFrom = 0;
        for (var i = 0; i < utf8.Length; i++)
        {
            var b = utf8[i];
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\')
            {
                continue;
            }

            body.Write(utf8[plainFrom..i]);
            var escape = body.GetSpan(6);
            escape[0] = (byte)'\\';
            escape[1] = (byte)'u';
            escape[2] = (byte)'0';
            escape[3] = (byte)'0';
            escape[4] = (byte)"0123456789abcdef"[b >> 4];
            escape[5] = (byte)"0123456789abcdef"[b & 0xF];
            body.Advance(6);
            plainFrom = i + 1;
        }

        body.Write(utf8[plainFrom..]);
        body.Write("\""u8);
    }

    /// <summary>
    /// Firehose: <c>{"FailedPutCount":n,"Encrypted":b,"RequestResponses":[{"RecordId":".."}|{"ErrorCode":"..","ErrorMessage":".."}]}</c>;
    /// Kinesis: <c>{"FailedRecordCount":n,"Records":[{"SequenceNumber":"..","ShardId":".."}|{"ErrorCode":"..","ErrorMessage":".."}]}</c>.
    /// </summary>
    internal static KinesisPutResult ParseAnswer(AwsJsonResponse response, bool firehose, int recordCount)
    {
        var codes = new string?[recordCount];
        var failed = 0;
        string? firstMessage = null;
        try
        {
            using var doc = JsonDocument.Parse(response.Body);
            var root = doc.RootElement;
            var countName = firehose ? "FailedPutCount" : "FailedRecordCount";
            var listName = firehose ? "RequestResponses" : "Records";
            if (root.TryGetProperty(countName, out var count) && count.ValueKind == JsonValueKind.Number)
            {
                failed = count.GetInt32();
            }

            if (failed == 0)
            {
                return new KinesisPutResult(response, 0, codes, null);
            }

            if (!root.TryGetProperty(listName, out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() != recordCount)
            {
                // Which records failed is unknown: every record must go again (at-least-once, never lost).
                return Unreadable(response, recordCount, $"{countName} {failed} without a per-record '{listName}' list of {recordCount}");
            }

            var index = 0;
            failed = 0;
            foreach (var item in list.EnumerateArray())
            {
                if (item.TryGetProperty("ErrorCode", out var code) && code.ValueKind == JsonValueKind.String)
                {
                    codes[index] = code.GetString() ?? "UnknownError";
                    failed++;
                    if (firstMessage is null && item.TryGetProperty("ErrorMessage", out var message) && message.ValueKind == JsonValueKind.String)
                    {
                        firstMessage = $"{codes[index]}: {message.GetString()}";
                    }
                }

                index++;
            }

            return new KinesisPutResult(response, failed, codes, firstMessage ?? Array.Find(codes, c => c is not null));
        }
        catch (JsonException ex)
        {
            return Unreadable(response, recordCount, "unparseable answer: " + ex.Message);
        }
    }

    private static KinesisPutResult Unreadable(AwsJsonResponse response, int recordCount, string why)
    {
        var codes = new string?[recordCount];
        Array.Fill(codes, "UnreadableAnswer");
        return new KinesisPutResult(response, recordCount, codes, why);
    }

    public void Dispose() => _client.Dispose();
}
