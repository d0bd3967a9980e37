namespace Gateway.Engine.Forward;

/// <summary>What became of one chunk handed to <see cref="ForwardClient.SendAsync"/>.</summary>
public enum ForwardSendStatus
{
    /// <summary>Written (no acks) or acknowledged by the server.</summary>
    Delivered,

    /// <summary>Not confirmed (no connection, write failed, ack timeout, shutdown): send it again later.</summary>
    Retry,

    /// <summary>The server refused us for good (handshake rejected); retrying with the same settings will not help.</summary>
    Rejected,
}

public readonly record struct ForwardSendResult(ForwardSendStatus Status, string? Reason = null)
{
    public static ForwardSendResult Delivered => new(ForwardSendStatus.Delivered);

    public static ForwardSendResult Retry(string reason) => new(ForwardSendStatus.Retry, reason);

    public static ForwardSendResult Rejected(string reason) => new(ForwardSendStatus.Rejected, reason);
}
