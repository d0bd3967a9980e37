using System.Text.Json;

namespace Gateway.Engine.Aws;

/// <summary>Reads AWS JSON protocol errors: <c>{"__type": "ns#ThrottlingException", "message": "..."}</c> (or <c>Message</c>), and the <c>x-amzn-ErrorType</c> header.</summary>
internal static class AwsErrorParser
{
    private static readonly HashSet<string> TransientTypes = new(StringComparer.Ordinal)
    {
        "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "ServiceUnavailableException", "ServiceUnavailable",
        "InternalFailure", "InternalServerError", "RequestTimeout", "RequestTimeoutException",
        "PriorRequestNotCompleteException", "EC2ThrottledException", "SlowDown", "KMSThrottlingException",
    };

    private static readonly HashSet<string> AuthTypes = new(StringComparer.Ordinal)
    {
        "AccessDeniedException", "AccessDenied", "UnrecognizedClientException", "InvalidSignatureException",
        "SignatureDoesNotMatch", "ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId",
        "MissingAuthenticationTokenException", "IncompleteSignatureException", "NotAuthorized",
    };

    public static AwsJsonResponse Parse(int statusCode, byte[] body, string? errorTypeHeader)
    {
        if (statusCode is >= 200 and < 300)
        {
            return new AwsJsonResponse(statusCode, body, null, null, AwsErrorKind.None);
        }

        string? type = null;
        string? message = null;
        if (body.Length > 0)
        {
            try
            {
                var reader = new Utf8JsonReader(body);
                if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        var isType = reader.ValueTextEquals("__type"u8) || reader.ValueTextEquals("code"u8);
                        var isMessage = reader.ValueTextEquals("message"u8) || reader.ValueTextEquals("Message"u8);
                        reader.Read();
                        if (reader.TokenType == JsonTokenType.String)
                        {
                            if (isType)
                            {
                                type = reader.GetString();
                            }
                            else if (isMessage)
                            {
                                message = reader.GetString();
                            }
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }
                }
            }
            catch (JsonException)
            {
                message = "unparseable error body: " + System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200));
            }
        }

        type = ShortName(type ?? errorTypeHeader);
        return new AwsJsonResponse(statusCode, body, type, message, Classify(statusCode, type));
    }

    public static AwsErrorKind Classify(int statusCode, string? type)
    {
        if (type is not null)
        {
            if (TransientTypes.Contains(type))
            {
                return AwsErrorKind.Transient;
            }

            if (AuthTypes.Contains(type))
            {
                return AwsErrorKind.Auth;
            }

            if (type == "ResourceNotFoundException")
            {
                return AwsErrorKind.NotFound;
            }

            if (type == "ResourceAlreadyExistsException")
            {
                return AwsErrorKind.AlreadyExists;
            }
        }

        return statusCode switch
        {
            >= 500 or 429 => AwsErrorKind.Transient,
            401 or 403 => AwsErrorKind.Auth,
            _ => AwsErrorKind.Client,
        };
    }

    /// <summary><c>com.amazonaws.logs#ThrottlingException</c> → <c>ThrottlingException</c>; also drops a <c>:</c> suffix as the header form has.</summary>
    internal static string? ShortName(string? type)
    {
        if (string.IsNullOrEmpty(type))
        {
            return null;
        }

        var hash = type.LastIndexOf('#');
        if (hash >= 0)
        {
            type = type[(hash + 1)..];
        }

        var colon = type.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 ? type[..colon] : type;
    }
}
