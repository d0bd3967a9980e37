using System.Globalization;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;

namespace Gateway.Engine.Aws;

/// <summary>
/// SigV4 for AWS JSON 1.x POSTs to a service root. The canonical request is built here (it is fixed for this
/// protocol: POST, one path, no query, four or five headers); the key derivation, string-to-sign and header
/// text come from AWSSDK.Core's <see cref="AWS4Signer"/> so the cryptography is the SDK's, not ours.
/// </summary>
internal static class AwsSigV4
{
    public const string DateHeader = "x-amz-date";
    public const string TokenHeader = "x-amz-security-token";

    /// <summary>
    /// Returns the <c>Authorization</c> header value for a request whose signed headers are exactly
    /// <paramref name="headers"/> (lower-case names, values already trimmed) and whose body's SHA-256 the caller
    /// computed (a body may be streamed rather than held as one buffer).
    /// </summary>
    public static string SignPayloadHash(
        ImmutableCredentials credentials,
        string region,
        string service,
        DateTime signedAtUtc,
        string path,
        SortedDictionary<string, string> headers,
        ReadOnlySpan<byte> payloadSha256)
    {
        var signedHeaders = string.Join(';', headers.Keys);
        var canonical = CanonicalRequest(path, headers, signedHeaders, payloadSha256);
        return AWS4Signer.ComputeSignature(credentials, region, signedAtUtc, service, signedHeaders, canonical).ForAuthorizationHeader;
    }

    public static string FormatDate(DateTime utc) => utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    internal static string CanonicalRequest(string path, SortedDictionary<string, string> headers, string signedHeaders, ReadOnlySpan<byte> payloadSha256)
    {
        var hash = payloadSha256;
        var text = new System.Text.StringBuilder(256);
        text.Append("POST\n").Append(string.IsNullOrEmpty(path) ? "/" : path).Append("\n\n");
        foreach (var (name, value) in headers)
        {
            text.Append(name).Append(':').Append(value).Append('\n');
        }

        text.Append('\n').Append(signedHeaders).Append('\n').Append(Convert.ToHexStringLower(hash));
        return text.ToString();
    }
}
