namespace Gateway.Engine.Aws;

/// <summary>How a caller should treat an AWS answer; decided once here so every AWS output reacts alike.</summary>
internal enum AwsErrorKind
{
    None,

    /// <summary>Throttling, service unavailable, any 5xx, a timeout or a broken connection: retry with backoff.</summary>
    Transient,

    /// <summary>Credentials or permission problems (AccessDenied, bad signature, expired token): retrying soon will not help.</summary>
    Auth,

    /// <summary>ResourceNotFoundException: the group or stream is missing.</summary>
    NotFound,

    /// <summary>ResourceAlreadyExistsException.</summary>
    AlreadyExists,

    /// <summary>Any other 4xx: the request itself is wrong.</summary>
    Client,
}

/// <summary>One AWS JSON 1.1 answer: status, body, and the parsed <c>__type</c>/<c>message</c> of an error.</summary>
internal sealed class AwsJsonResponse
{
    public AwsJsonResponse(int statusCode, byte[] body, string? errorType, string? errorMessage, AwsErrorKind kind)
    {
        StatusCode = statusCode;
        Body = body;
        ErrorType = errorType;
        ErrorMessage = errorMessage;
        Kind = kind;
    }

    /// <summary>HTTP status; 0 when no answer came (network error or timeout).</summary>
    public int StatusCode { get; }

    public byte[] Body { get; }

    /// <summary>The error's short name (the part of <c>__type</c> after <c>#</c>), e.g. <c>ThrottlingException</c>.</summary>
    public string? ErrorType { get; }

    public string? ErrorMessage { get; }

    public AwsErrorKind Kind { get; }

    public bool IsSuccess => Kind == AwsErrorKind.None;

    public override string ToString() => IsSuccess ? $"HTTP {StatusCode}" : $"HTTP {StatusCode} {ErrorType}: {ErrorMessage}";
}
