using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Gateway.Aggregator.Tests.Fakes.CloudWatchLogs;

/// <summary>
/// Recomputes a request's SigV4 signature independently of AWSSDK.Core (own canonicalisation and HMAC chain), so
/// a signer bug in the client shows up as the same error AWS would give.
/// </summary>
internal static class SigV4Verifier
{
    private const string Algorithm = "AWS4-HMAC-SHA256";

    /// <returns>Null when valid; otherwise (error type, message).</returns>
    public static (string Type, string Message)? Verify(HttpRequest request, byte[] body, IReadOnlyDictionary<string, string> secrets, string service, DateTimeOffset now)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(authorization))
        {
            return ("MissingAuthenticationTokenException", "Missing Authentication Token");
        }

        if (!authorization.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            return ("IncompleteSignatureException", $"Unsupported authorization scheme in '{authorization}'");
        }

        string? credential = null, signedHeaders = null, signature = null;
        foreach (var piece in authorization[(Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = piece.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
            {
                continue;
            }

            var value = piece[(eq + 1)..];
            switch (piece[..eq])
            {
                case "Credential": credential = value; break;
                case "SignedHeaders": signedHeaders = value; break;
                case "Signature": signature = value; break;
            }
        }

        if (credential is null || signedHeaders is null || signature is null)
        {
            return ("IncompleteSignatureException", "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'");
        }

        var scopeParts = credential.Split('/');
        if (scopeParts.Length != 5 || scopeParts[3] != service || scopeParts[4] != "aws4_request")
        {
            return ("IncompleteSignatureException", $"Credential should be scoped correctly: '{credential}'");
        }

        if (!secrets.TryGetValue(scopeParts[0], out var secret))
        {
            return ("UnrecognizedClientException", "The security token included in the request is invalid.");
        }

        var amzDate = request.Headers["x-amz-date"].ToString();
        if (!DateTime.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var signedAt))
        {
            return ("IncompleteSignatureException", "X-Amz-Date header is missing or malformed");
        }

        if (Math.Abs((now.UtcDateTime - signedAt).TotalMinutes) > 15)
        {
            return ("InvalidSignatureException", $"Signature expired: {amzDate} is now earlier than or later than 15 min of {now.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}");
        }

        if (scopeParts[1] != amzDate[..8])
        {
            return ("InvalidSignatureException", "Credential scope date does not match X-Amz-Date");
        }

        var canonical = new StringBuilder();
        canonical.Append(request.Method).Append('\n');
        canonical.Append(string.IsNullOrEmpty(request.Path.Value) ? "/" : request.Path.Value).Append('\n');
        canonical.Append(CanonicalQuery(request.QueryString.Value)).Append('\n');
        foreach (var name in signedHeaders.Split(';'))
        {
            var value = name == "host" ? request.Host.Value : string.Join(',', request.Headers[name].ToArray());
            canonical.Append(name).Append(':').Append(CollapseSpaces(value ?? string.Empty)).Append('\n');
        }

        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(Hex(SHA256.HashData(body)));
        var scope = string.Join('/', scopeParts[1..]);
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        var key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secret), scopeParts[1]);
        key = Hmac(key, scopeParts[2]);
        key = Hmac(key, scopeParts[3]);
        key = Hmac(key, "aws4_request");
        var expected = Hex(Hmac(key, stringToSign));
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature)))
        {
            return ("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.");
        }

        return null;
    }

    private static string CanonicalQuery(string? query)
    {
        if (string.IsNullOrEmpty(query) || query == "?")
        {
            return string.Empty;
        }

        var pairs = query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries);
        Array.Sort(pairs, StringComparer.Ordinal);
        return string.Join('&', pairs);
    }

    private static string CollapseSpaces(string value)
    {
        value = value.Trim();
        while (value.Contains("  ", StringComparison.Ordinal))
        {
            value = value.Replace("  ", " ", StringComparison.Ordinal);
        }

        return value;
    }

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
