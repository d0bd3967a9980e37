using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;

/// <summary>
/// The AWS JSON 1.1 protocol as the AWS fakes (CloudWatch Logs, Firehose/Kinesis) speak it: the raw request body
/// (SigV4 signs it), answers as <c>(status, body)</c>, errors as <c>{"__type":"...","message":"..."}</c>, and every
/// response stamped with an <c>x-amzn-RequestId</c> as AWS does.
/// </summary>
internal static class AwsJsonAnswers
{
    public const string ContentType = "application/x-amz-json-1.1";

    public static async Task<byte[]> ReadBodyAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    public static async Task WriteAsync(HttpResponse response, int status, string contentType, string body)
    {
        response.StatusCode = status;
        response.ContentType = contentType;
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(body));
    }

    /// <summary>A string member of a request, or null when absent or not a string.</summary>
    public static string? Str(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    public static (int, string) Ok(string json) => (200, json);

    public static (int, string) Error(int status, string type, string message) =>
        (status, JsonSerializer.Serialize(new Dictionary<string, string> { ["__type"] = type, ["message"] = message }));
}
