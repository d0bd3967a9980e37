using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using static Gateway.Aggregator.Tests.Fakes.CloudWatchLogs.AwsJsonAnswers;

namespace Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;

/// <summary>One event as the fake stored it.</summary>
internal sealed record StoredLogEvent(long Timestamp, string Message, long IngestionTime);

/// <summary>What one PutLogEvents request looked like, for limit assertions.</summary>
internal sealed record PutLogEventsCall(string Group, string Stream, int EventCount, long BatchBytes, long SpanMs, string Outcome);

/// <summary>
/// An in-process CloudWatch Logs (JSON 1.1 over HTTP, Kestrel on 127.0.0.1:0) for tests. It verifies SigV4
/// against known keys, enforces the documented PutLogEvents limits with AWS's error shapes
/// (<c>{"__type":"...","message":"..."}</c>), and can inject throttling, 5xx, latency and stream deletion.
/// A limit a client breaks is also recorded in <see cref="Violations"/> so tests fail loudly on it.
/// </summary>
internal sealed partial class FakeCloudWatchLogsServer : IAsyncDisposable
{
    public const string AccessKey = "AKIDFAKECLOUDWATCH01";
    public const string SecretKey = "fake/secret/key/for/sigv4/tests/0000000";
    public const string Region = "us-east-1";

    public const int MaxBatchBytes = 1_048_576;
    public const int EventOverhead = 26;
    public const int MaxBatchEvents = 10_000;

    /// <summary>Current docs: "Each log event can be no larger than 1 MB" (was 256 KB); with the 26-byte overhead it must still fit one batch.</summary>
    public const int MaxEventBytes = MaxBatchBytes - EventOverhead;

    private static readonly TimeSpan MaxSpan = TimeSpan.FromHours(24);
    private static readonly TimeSpan TooOld = TimeSpan.FromDays(14);
    private static readonly TimeSpan TooNew = TimeSpan.FromHours(2);
    private static readonly HashSet<int> RetentionDays = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

    private readonly ConcurrentDictionary<string, LogGroup> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _requestCounts = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<PutLogEventsCall> _putCalls = new();
    private readonly ConcurrentQueue<string> _violations = new();
    private readonly ConcurrentDictionary<string, string> _secrets = new(StringComparer.Ordinal) { [AccessKey] = SecretKey };
    private readonly ConcurrentDictionary<string, string> _sessionTokens = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(string RoleArn, string? ExternalId, string SessionName)> _assumeRoleCalls = new();
    private readonly PercentRoll _roll;
    private FakeHttpServer? _http;

    public FakeCloudWatchLogsServer(int seed = 12345)
    {
        _roll = new PercentRoll(seed);
    }

    public Uri Endpoint { get; private set; } = new("http://127.0.0.1/");

    /// <summary>Share of requests (0-100) answered with ThrottlingException.</summary>
    public double ThrottlePercent { get; set; }

    /// <summary>Share of requests (0-100) answered with a 5xx (ServiceUnavailableException or InternalFailure).</summary>
    public double ServerErrorPercent { get; set; }

    /// <summary>Delay before every answer.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Clock for the too-old/too-new checks.</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>Answer every request with AccessDeniedException (IAM denies the caller).</summary>
    public bool DenyAll { get; set; }

    public IReadOnlyCollection<PutLogEventsCall> PutCalls => _putCalls;

    /// <summary>Throttles and 5xx answers injected so far.</summary>
    public int InjectedFaults => Volatile.Read(ref _injectedFaults);

    private int _injectedFaults;

    public IReadOnlyCollection<string> Violations => _violations;

    /// <summary>STS AssumeRole calls served (the fake also answers STS's query protocol on the same endpoint).</summary>
    public IReadOnlyCollection<(string RoleArn, string? ExternalId, string SessionName)> AssumeRoleCalls => _assumeRoleCalls;

    /// <summary>Access keys that signed CloudWatch Logs requests, in order.</summary>
    public IReadOnlyCollection<string> CallerKeys => _callerKeys;

    private readonly ConcurrentQueue<string> _callerKeys = new();

    /// <summary>User-Agent of the latest request.</summary>
    public string? LastUserAgent { get; private set; }

    /// <summary><c>x-amzn-logs-format</c> of the latest PutLogEvents request.</summary>
    public string? LastLogsFormat { get; private set; }

    public int RequestCount(string operation) => _requestCounts.TryGetValue(operation, out var n) ? n : 0;

    public int TotalRequests
    {
        get
        {
            var total = 0;
            foreach (var pair in _requestCounts)
            {
                total += pair.Value;
            }

            return total;
        }
    }

    /// <summary>
    /// False keeps each stored event's timestamp but not its message (a benchmark's hundreds of thousands of
    /// events would otherwise hold the fake's memory); <see cref="Events"/> then returns empty messages.
    /// </summary>
    public bool KeepMessages { get; set; } = true;

    /// <param name="certificate">Serve HTTPS with it (the benchmark host's self-signed one); null = plain HTTP.</param>
    public async Task StartAsync(X509Certificate2? certificate = null)
    {
        _http = await FakeHttpServer.StartAsync(app => app.MapPost("/", HandleAsync), certificate);
        Endpoint = _http.Endpoint;
    }

    public bool GroupExists(string group) => _groups.ContainsKey(group);

    public IReadOnlyList<string> GroupNames => [.. _groups.Keys];

    public IReadOnlyList<string> StreamNames(string group) =>
        _groups.TryGetValue(group, out var g) ? [.. g.Streams.Keys] : [];

    public int? Retention(string group) => _groups.TryGetValue(group, out var g) ? g.RetentionDays : null;

    public string? GroupClass(string group) => _groups.TryGetValue(group, out var g) ? g.Class : null;

    /// <summary>Events of a stream in stored order, including those of deleted incarnations of it.</summary>
    public IReadOnlyList<StoredLogEvent> Events(string group, string stream)
    {
        if (!_groups.TryGetValue(group, out var g))
        {
            return [];
        }

        lock (g.History)
        {
            return g.History.TryGetValue(stream, out var list) ? [.. list] : [];
        }
    }

    /// <summary>Deletes a stream as DeleteLogStream would (its events stay visible to <see cref="Events"/> for assertions).</summary>
    public bool DeleteStream(string group, string stream) =>
        _groups.TryGetValue(group, out var g) && g.Streams.TryRemove(stream, out _);

    public void CreateGroupDirectly(string group) => _groups.TryAdd(group, new LogGroup(null));

    private async Task HandleAsync(HttpContext context)
    {
        var body = await ReadBodyAsync(context.Request);
        var target = context.Request.Headers["X-Amz-Target"].ToString();
        var operation = target.StartsWith("Logs_20140328.", StringComparison.Ordinal) ? target["Logs_20140328.".Length..] : target;
        _requestCounts.AddOrUpdate(operation, 1, (_, n) => n + 1);
        LastUserAgent = context.Request.Headers.UserAgent.ToString();
        if (operation == "PutLogEvents")
        {
            LastLogsFormat = context.Request.Headers["x-amzn-logs-format"].ToString();
        }

        if (Latency > TimeSpan.Zero)
        {
            await Task.Delay(Latency);
        }

        var (status, response) = Dispatch(context.Request, operation, body);
        response = response.TrimStart();
        await WriteAsync(context.Response, status, response.StartsWith('<') ? "text/xml" : AwsJsonAnswers.ContentType, response);
    }

    private (int Status, string Body) Dispatch(HttpRequest request, string operation, byte[] body)
    {
        if (request.ContentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.Ordinal) == true)
        {
            return Sts(request, body);
        }

        if (!request.ContentType?.StartsWith(AwsJsonAnswers.ContentType, StringComparison.Ordinal) ?? true)
        {
            return Error(400, "SerializationException", $"unexpected Content-Type '{request.ContentType}'");
        }

        if (SigV4Verifier.Verify(request, body, _secrets, "logs", Time.GetUtcNow()) is { } signatureError)
        {
            return Error(signatureError.Type == "UnrecognizedClientException" ? 400 : 403, signatureError.Type, signatureError.Message);
        }

        var accessKey = CallerKey(request);
        _callerKeys.Enqueue(accessKey);
        if (_sessionTokens.TryGetValue(accessKey, out var token) && request.Headers["x-amz-security-token"].ToString() != token)
        {
            return Error(400, "UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        if (DenyAll)
        {
            return Error(400, "AccessDeniedException", $"User: arn:aws:iam::123456789012:user/test is not authorized to perform: logs:{operation}");
        }

        if (operation != "GetLogEvents")
        {
            var roll = _roll.Next();

            if (roll < ThrottlePercent + ServerErrorPercent)
            {
                Interlocked.Increment(ref _injectedFaults);
            }

            if (roll < ThrottlePercent)
            {
                return Error(400, "ThrottlingException", "Rate exceeded");
            }

            if (roll < ThrottlePercent + ServerErrorPercent)
            {
                return roll < ThrottlePercent + (ServerErrorPercent / 2)
                    ? Error(503, "ServiceUnavailableException", "The server failed to fulfill the request. Please try again.")
                    : Error(500, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure.");
            }
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

        return operation switch
        {
            "CreateLogGroup" => CreateLogGroup(root),
            "CreateLogStream" => CreateLogStream(root),
            "PutRetentionPolicy" => PutRetentionPolicy(root),
            "DescribeLogStreams" => DescribeLogStreams(root),
            "PutLogEvents" => PutLogEvents(root, body.Length),
            "GetLogEvents" => GetLogEvents(root),
            _ => Error(400, "UnknownOperationException", $"operation '{operation}' is not supported by the fake"),
        };
    }

    /// <summary>STS AssumeRole (query protocol, XML answer): issues temporary credentials the fake then accepts.</summary>
    private (int Status, string Body) Sts(HttpRequest request, byte[] body)
    {
        var form = Microsoft.AspNetCore.WebUtilities.QueryHelpers.ParseQuery("?" + Encoding.UTF8.GetString(body));
        if (SigV4Verifier.Verify(request, body, _secrets, "sts", Time.GetUtcNow()) is { } signatureError)
        {
            return (403, $"<ErrorResponse><Error><Type>Sender</Type><Code>{signatureError.Type}</Code><Message>{signatureError.Message}</Message></Error></ErrorResponse>");
        }

        if (form["Action"] != "AssumeRole")
        {
            return (400, $"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>{form["Action"]} is not supported by the fake</Message></Error></ErrorResponse>");
        }

        var roleArn = form["RoleArn"].ToString();
        var externalId = form.TryGetValue("ExternalId", out var ext) ? ext.ToString() : null;
        var sessionName = form["RoleSessionName"].ToString();
        _assumeRoleCalls.Enqueue((roleArn, externalId, sessionName));
        var key = "ASIAFAKE" + _assumeRoleCalls.Count.ToString("D12", System.Globalization.CultureInfo.InvariantCulture);
        var secret = "assumed-secret-" + Guid.NewGuid().ToString("N");
        var token = "assumed-token-" + Guid.NewGuid().ToString("N");
        _secrets[key] = secret;
        _sessionTokens[key] = token;
        var expiration = Time.GetUtcNow().AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        return (200, $"""
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <AssumeRoleResult>
                <Credentials>
                  <AccessKeyId>{key}</AccessKeyId>
                  <SecretAccessKey>{secret}</SecretAccessKey>
                  <SessionToken>{token}</SessionToken>
                  <Expiration>{expiration}</Expiration>
                </Credentials>
                <AssumedRoleUser>
                  <Arn>arn:aws:sts::123456789012:assumed-role/fake/{sessionName}</Arn>
                  <AssumedRoleId>AROAFAKE:{sessionName}</AssumedRoleId>
                </AssumedRoleUser>
              </AssumeRoleResult>
              <ResponseMetadata><RequestId>{Guid.NewGuid()}</RequestId></ResponseMetadata>
            </AssumeRoleResponse>
            """);
    }

    private static string CallerKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        var start = authorization.IndexOf("Credential=", StringComparison.Ordinal);
        if (start < 0)
        {
            return string.Empty;
        }

        start += "Credential=".Length;
        var end = authorization.IndexOf('/', start);
        return end < 0 ? string.Empty : authorization[start..end];
    }

    private (int, string) CreateLogGroup(JsonElement root)
    {
        var name = Str(root, "logGroupName");
        if (ValidateGroupName(name) is { } invalid)
        {
            return invalid;
        }

        var groupClass = Str(root, "logGroupClass");
        if (groupClass is not null and not ("STANDARD" or "INFREQUENT_ACCESS" or "DELIVERY"))
        {
            return Error(400, "InvalidParameterException", $"1 validation error detected: Value '{groupClass}' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [DELIVERY, STANDARD, INFREQUENT_ACCESS]");
        }

        return _groups.TryAdd(name!, new LogGroup(groupClass ?? "STANDARD"))
            ? Ok("{}")
            : Error(400, "ResourceAlreadyExistsException", "The specified log group already exists");
    }

    private (int, string) CreateLogStream(JsonElement root)
    {
        var group = Str(root, "logGroupName");
        var stream = Str(root, "logStreamName");
        if (ValidateGroupName(group) is { } invalid)
        {
            return invalid;
        }

        if (string.IsNullOrEmpty(stream) || stream.Length > 512 || stream.Contains(':', StringComparison.Ordinal) || stream.Contains('*', StringComparison.Ordinal))
        {
            return Error(400, "InvalidParameterException", $"1 validation error detected: Value '{stream}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]* and length 1-512");
        }

        if (!_groups.TryGetValue(group!, out var g))
        {
            return Error(400, "ResourceNotFoundException", "The specified log group does not exist.");
        }

        return g.Streams.TryAdd(stream, new LogStream())
            ? Ok("{}")
            : Error(400, "ResourceAlreadyExistsException", "The specified log stream already exists");
    }

    private (int, string) PutRetentionPolicy(JsonElement root)
    {
        var group = Str(root, "logGroupName");
        var days = root.TryGetProperty("retentionInDays", out var d) && d.ValueKind == JsonValueKind.Number ? d.GetInt32() : 0;
        if (!RetentionDays.Contains(days))
        {
            return Error(400, "InvalidParameterException", $"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set");
        }

        if (group is null || !_groups.TryGetValue(group, out var g))
        {
            return Error(400, "ResourceNotFoundException", "The specified log group does not exist.");
        }

        g.RetentionDays = days;
        return Ok("{}");
    }

    private (int, string) DescribeLogStreams(JsonElement root)
    {
        var group = Str(root, "logGroupName");
        if (group is null || !_groups.TryGetValue(group, out var g))
        {
            return Error(400, "ResourceNotFoundException", "The specified log group does not exist.");
        }

        var prefix = Str(root, "logStreamNamePrefix") ?? string.Empty;
        var names = g.Streams.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var start = int.TryParse(Str(root, "nextToken"), out var s) ? s : 0;
        var page = names.Skip(start).Take(50).ToList();
        var result = new Dictionary<string, object?>
        {
            ["logStreams"] = page.Select(n => new Dictionary<string, object> { ["logStreamName"] = n, ["arn"] = $"arn:aws:logs:{Region}:123456789012:log-group:{group}:log-stream:{n}" }).ToList(),
        };
        if (start + page.Count < names.Count)
        {
            result["nextToken"] = (start + page.Count).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return Ok(JsonSerializer.Serialize(result));
    }

    private (int, string) PutLogEvents(JsonElement root, int requestBytes)
    {
        var group = Str(root, "logGroupName") ?? string.Empty;
        var stream = Str(root, "logStreamName") ?? string.Empty;
        if (!root.TryGetProperty("logEvents", out var eventsElement) || eventsElement.ValueKind != JsonValueKind.Array || eventsElement.GetArrayLength() == 0)
        {
            return Violation(group, stream, 0, 0, 0, "InvalidParameterException", "1 validation error detected: Value null at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1");
        }

        var events = new List<(long Ts, string Msg)>(eventsElement.GetArrayLength());
        long batchBytes = 0;
        var index = 0;
        foreach (var e in eventsElement.EnumerateArray())
        {
            index++;
            var ts = e.TryGetProperty("timestamp", out var t) && t.ValueKind == JsonValueKind.Number ? t.GetInt64() : long.MinValue;
            var msg = e.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : string.Empty;
            if (ts == long.MinValue)
            {
                return Violation(group, stream, events.Count, batchBytes, 0, "InvalidParameterException", $"1 validation error detected: Value null at 'logEvents.{index}.member.timestamp' failed to satisfy constraint: Member must not be null");
            }

            if (msg.Length == 0)
            {
                return Violation(group, stream, events.Count, batchBytes, 0, "InvalidParameterException", $"1 validation error detected: Value '' at 'logEvents.{index}.member.message' failed to satisfy constraint: Member must have length greater than or equal to 1");
            }

            var size = Encoding.UTF8.GetByteCount(msg);
            if (size > MaxEventBytes)
            {
                return Violation(group, stream, events.Count, batchBytes, 0, "InvalidParameterException", $"Log event too large: event {index} is {size} bytes; the maximum is {MaxEventBytes}");
            }

            batchBytes += size + EventOverhead;
            events.Add((ts, msg));
        }

        var span = events[^1].Ts - events[0].Ts;
        if (events.Count > MaxBatchEvents)
        {
            return Violation(group, stream, events.Count, batchBytes, span, "InvalidParameterException", $"1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to {MaxBatchEvents}");
        }

        if (batchBytes > MaxBatchBytes)
        {
            return Violation(group, stream, events.Count, batchBytes, span, "InvalidParameterException", $"Upload too large: {batchBytes} bytes exceeds limit of {MaxBatchBytes}");
        }

        for (var i = 1; i < events.Count; i++)
        {
            if (events[i].Ts < events[i - 1].Ts)
            {
                return Violation(group, stream, events.Count, batchBytes, span, "InvalidParameterException", "Log events in a single PutLogEvents request must be in chronological order.");
            }
        }

        if (span > (long)MaxSpan.TotalMilliseconds)
        {
            return Violation(group, stream, events.Count, batchBytes, span, "InvalidParameterException", "The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
        }

        if (!_groups.TryGetValue(group, out var g))
        {
            _putCalls.Enqueue(new PutLogEventsCall(group, stream, events.Count, batchBytes, span, "ResourceNotFoundException"));
            return Error(400, "ResourceNotFoundException", "The specified log group does not exist.");
        }

        if (!g.Streams.TryGetValue(stream, out var s))
        {
            _putCalls.Enqueue(new PutLogEventsCall(group, stream, events.Count, batchBytes, span, "ResourceNotFoundException"));
            return Error(400, "ResourceNotFoundException", "The specified log stream does not exist.");
        }

        var now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        var oldest = now - (long)TooOld.TotalMilliseconds;
        var newest = now + (long)TooNew.TotalMilliseconds;
        int tooOldEnd = -1, tooNewStart = -1;
        lock (g.History)
        {
            if (!g.History.TryGetValue(stream, out var history))
            {
                history = [];
                g.History[stream] = history;
            }

            for (var i = 0; i < events.Count; i++)
            {
                if (events[i].Ts < oldest)
                {
                    tooOldEnd = i;
                    continue;
                }

                if (events[i].Ts > newest)
                {
                    if (tooNewStart < 0)
                    {
                        tooNewStart = i;
                    }

                    continue;
                }

                history.Add(new StoredLogEvent(events[i].Ts, KeepMessages ? events[i].Msg : string.Empty, now));
            }
        }

        s.Sequence++;
        _putCalls.Enqueue(new PutLogEventsCall(group, stream, events.Count, batchBytes, span, "OK"));
        var rejected = new Dictionary<string, int>();
        if (tooNewStart >= 0)
        {
            rejected["tooNewLogEventStartIndex"] = tooNewStart;
        }

        if (tooOldEnd >= 0)
        {
            rejected["tooOldLogEventEndIndex"] = tooOldEnd;
        }

        var answer = new Dictionary<string, object> { ["nextSequenceToken"] = s.Sequence.ToString("D56", System.Globalization.CultureInfo.InvariantCulture) };
        if (rejected.Count > 0)
        {
            answer["rejectedLogEventsInfo"] = rejected;
        }

        return Ok(JsonSerializer.Serialize(answer));
    }

    private (int, string) GetLogEvents(JsonElement root)
    {
        var group = Str(root, "logGroupName") ?? string.Empty;
        var stream = Str(root, "logStreamName") ?? string.Empty;
        if (!_groups.TryGetValue(group, out var g))
        {
            return Error(400, "ResourceNotFoundException", "The specified log group does not exist.");
        }

        if (!g.Streams.ContainsKey(stream))
        {
            return Error(400, "ResourceNotFoundException", "The specified log stream does not exist.");
        }

        var all = Events(group, stream);
        var start = Str(root, "nextToken") is { } token && token.StartsWith("f/", StringComparison.Ordinal) && int.TryParse(token[2..], out var from) ? from : 0;
        var limit = root.TryGetProperty("limit", out var l) && l.ValueKind == JsonValueKind.Number ? l.GetInt32() : 10_000;
        var page = all.Skip(start).Take(limit).ToList();
        var next = start + page.Count;
        return Ok(JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["events"] = page.Select(e => new Dictionary<string, object> { ["timestamp"] = e.Timestamp, ["message"] = e.Message, ["ingestionTime"] = e.IngestionTime }).ToList(),
            ["nextForwardToken"] = $"f/{next:D56}",
            ["nextBackwardToken"] = $"b/{start:D56}",
        }));
    }

    private (int, string) Violation(string group, string stream, int count, long bytes, long span, string type, string message)
    {
        _violations.Enqueue($"{group}/{stream}: {type}: {message}");
        _putCalls.Enqueue(new PutLogEventsCall(group, stream, count, bytes, span, type));
        return Error(400, type, message);
    }

    private static (int, string)? ValidateGroupName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > 512 || !GroupNamePattern().IsMatch(name))
        {
            return Error(400, "InvalidParameterException", $"1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+");
        }

        return null;
    }

    [GeneratedRegex(@"^[\.\-_/#A-Za-z0-9]+$")]
    private static partial Regex GroupNamePattern();

    public async ValueTask DisposeAsync()
    {
        if (_http is not null)
        {
            await _http.DisposeAsync();
        }
    }

    private sealed class LogGroup(string? groupClass)
    {
        public string? Class { get; } = groupClass;

        public int? RetentionDays { get; set; }

        public ConcurrentDictionary<string, LogStream> Streams { get; } = new(StringComparer.Ordinal);

        /// <summary>Every event accepted per stream name, surviving stream deletion, for assertions.</summary>
        public Dictionary<string, List<StoredLogEvent>> History { get; } = new(StringComparer.Ordinal);
    }

    private sealed class LogStream
    {
        public long Sequence { get; set; }
    }
}
