using System.Text.Json;
using Amazon.Runtime;

namespace Gateway.Engine.Aws;

/// <summary>The <c>rejectedLogEventsInfo</c> of a PutLogEvents answer (indexes into the request's events; -1 = none).</summary>
internal readonly record struct RejectedLogEventsInfo(int TooNewStartIndex, int TooOldEndIndex, int ExpiredEndIndex)
{
    public static readonly RejectedLogEventsInfo None = new(-1, -1, -1);

    public bool Any => TooNewStartIndex >= 0 || TooOldEndIndex >= 0 || ExpiredEndIndex >= 0;

    /// <summary>How many of <paramref name="eventCount"/> events CloudWatch did not keep.</summary>
    public int RejectedCount(int eventCount)
    {
        var oldEnd = Math.Max(TooOldEndIndex, ExpiredEndIndex);
        var rejected = oldEnd >= 0 ? Math.Min(oldEnd + 1, eventCount) : 0;
        if (TooNewStartIndex >= 0 && TooNewStartIndex < eventCount)
        {
            rejected += eventCount - Math.Max(TooNewStartIndex, rejected);
        }

        return Math.Min(rejected, eventCount);
    }
}

/// <summary>The outcome of one CloudWatch Logs call.</summary>
internal sealed record CloudWatchLogsResult(AwsJsonResponse Response)
{
    public bool IsSuccess => Response.IsSuccess;

    public AwsErrorKind Kind => Response.Kind;

    public string? ErrorType => Response.ErrorType;
}

internal sealed record PutLogEventsResult(AwsJsonResponse Response, RejectedLogEventsInfo Rejected)
{
    public bool IsSuccess => Response.IsSuccess;
}

internal sealed record DescribeLogStreamsResult(AwsJsonResponse Response, IReadOnlyList<string> StreamNames, string? NextToken);

/// <summary>
/// The CloudWatch Logs operations the outputs use. Behind an interface so the AWS SDK's client could replace
/// ours once AWSSDK.CloudWatchLogs is available.
/// </summary>
internal interface ICloudWatchLogsClient : IDisposable
{
    Task<CloudWatchLogsResult> CreateLogGroupAsync(string logGroupName, string? logGroupClass, CancellationToken cancellationToken);

    Task<CloudWatchLogsResult> CreateLogStreamAsync(string logGroupName, string logStreamName, CancellationToken cancellationToken);

    Task<CloudWatchLogsResult> PutRetentionPolicyAsync(string logGroupName, int retentionInDays, CancellationToken cancellationToken);

    Task<DescribeLogStreamsResult> DescribeLogStreamsAsync(string logGroupName, string? logStreamNamePrefix, string? nextToken, CancellationToken cancellationToken);

    /// <summary>
    /// Sends events as the JSON array the API takes (<c>[{"timestamp":ms,"message":"..."},...]</c>, in time order),
    /// read from <paramref name="logEventsArray"/>: readable and seekable with an exact length, it is read once to
    /// sign the request and once per attempt to send it, so a 1 MiB request never has to exist as one buffer.
    /// </summary>
    Task<PutLogEventsResult> PutLogEventsAsync(string logGroupName, string logStreamName, Stream logEventsArray, CancellationToken cancellationToken);
}

/// <summary>CloudWatch Logs over <see cref="AwsJsonClient"/> (<c>X-Amz-Target: Logs_20140328.*</c>).</summary>
internal sealed class CloudWatchLogsClient : ICloudWatchLogsClient
{
    public const string TargetPrefix = "Logs_20140328";

    private readonly AwsJsonClient _client;
    private readonly KeyValuePair<string, string>? _logFormatHeader;

    /// <param name="logFormat">Sent as <c>x-amzn-logs-format</c> with PutLogEvents (e.g. <c>json/emf</c>), as Fluent Bit does.</param>
    public CloudWatchLogsClient(AwsJsonClient client, string? logFormat = null)
    {
        _client = client;
        _logFormatHeader = string.IsNullOrEmpty(logFormat) ? null : new KeyValuePair<string, string>("x-amzn-logs-format", logFormat);
    }

    public static CloudWatchLogsClient Create(string region, Uri? endpoint, AWSCredentials credentials, string? extraUserAgent = null, int maxConcurrency = 8, TimeProvider? time = null, string? logFormat = null) =>
        new(new AwsJsonClient(
            new AwsJsonClientSettings
            {
                SigningService = "logs",
                TargetPrefix = TargetPrefix,
                Region = region,
                Endpoint = endpoint,
                ExtraUserAgent = extraUserAgent,
                MaxConcurrency = maxConcurrency,
            },
            credentials,
            time), logFormat);

    public AwsJsonClient Transport => _client;

    public async Task<CloudWatchLogsResult> CreateLogGroupAsync(string logGroupName, string? logGroupClass, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("logGroupName", logGroupName);
            if (!string.IsNullOrEmpty(logGroupClass))
            {
                w.WriteString("logGroupClass", logGroupClass);
            }
        });
        return new CloudWatchLogsResult(await _client.SendAsync("CreateLogGroup", body, cancellationToken).ConfigureAwait(false));
    }

    public async Task<CloudWatchLogsResult> CreateLogStreamAsync(string logGroupName, string logStreamName, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("logGroupName", logGroupName);
            w.WriteString("logStreamName", logStreamName);
        });
        return new CloudWatchLogsResult(await _client.SendAsync("CreateLogStream", body, cancellationToken).ConfigureAwait(false));
    }

    public async Task<CloudWatchLogsResult> PutRetentionPolicyAsync(string logGroupName, int retentionInDays, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("logGroupName", logGroupName);
            w.WriteNumber("retentionInDays", retentionInDays);
        });
        return new CloudWatchLogsResult(await _client.SendAsync("PutRetentionPolicy", body, cancellationToken).ConfigureAwait(false));
    }

    public async Task<DescribeLogStreamsResult> DescribeLogStreamsAsync(string logGroupName, string? logStreamNamePrefix, string? nextToken, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("logGroupName", logGroupName);
            if (!string.IsNullOrEmpty(logStreamNamePrefix))
            {
                w.WriteString("logStreamNamePrefix", logStreamNamePrefix);
            }

            if (!string.IsNullOrEmpty(nextToken))
            {
                w.WriteString("nextToken", nextToken);
            }
        });
        var response = await _client.SendAsync("DescribeLogStreams", body, cancellationToken).ConfigureAwait(false);
        var names = new List<string>();
        string? next = null;
        if (response.IsSuccess && response.Body.Length > 0)
        {
            using var doc = JsonDocument.Parse(response.Body);
            if (doc.RootElement.TryGetProperty("logStreams", out var streams) && streams.ValueKind == JsonValueKind.Array)
            {
                foreach (var stream in streams.EnumerateArray())
                {
                    if (stream.TryGetProperty("logStreamName", out var name) && name.GetString() is { } text)
                    {
                        names.Add(text);
                    }
                }
            }

            if (doc.RootElement.TryGetProperty("nextToken", out var token))
            {
                next = token.GetString();
            }
        }

        return new DescribeLogStreamsResult(response, names, next);
    }

    public async Task<PutLogEventsResult> PutLogEventsAsync(string logGroupName, string logStreamName, Stream logEventsArray, CancellationToken cancellationToken)
    {
        // {"logGroupName":"…","logStreamName":"…","logEvents": + the array + }: only the names are written here.
        var head = Json(w =>
        {
            w.WriteString("logGroupName", logGroupName);
            w.WriteString("logStreamName", logStreamName);
            w.WritePropertyName("logEvents");
            w.WriteRawValue("[]"u8, skipInputValidation: true);
        });
        var body = new AwsRequestBody(head[..^3], logEventsArray, EnvelopeTail);
        var response = await _client.SendAsync("PutLogEvents", body, cancellationToken, _logFormatHeader).ConfigureAwait(false);
        return new PutLogEventsResult(response, response.IsSuccess ? ParseRejected(response.Body) : RejectedLogEventsInfo.None);
    }

    private static readonly byte[] EnvelopeTail = "}"u8.ToArray();

    internal static RejectedLogEventsInfo ParseRejected(byte[] body)
    {
        if (body.Length == 0)
        {
            return RejectedLogEventsInfo.None;
        }

        using var doc = JsonDocument.Parse(body);
        if (!doc.RootElement.TryGetProperty("rejectedLogEventsInfo", out var info) || info.ValueKind != JsonValueKind.Object)
        {
            return RejectedLogEventsInfo.None;
        }

        return new RejectedLogEventsInfo(Index(info, "tooNewLogEventStartIndex"), Index(info, "tooOldLogEventEndIndex"), Index(info, "expiredLogEventEndIndex"));

        static int Index(JsonElement info, string name) =>
            info.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetInt32() : -1;
    }

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var stream = new MemoryStream(256);
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            write(json);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    public void Dispose() => _client.Dispose();
}
