namespace Gateway.Engine.Forward;

/// <summary>What became of one chunk handed to <see cref="ForwardClient.SendAsync"/>.</summary>
public enum ForwardSendStatus
{
    /// <summary>Written (no acks) or acknowledged by the server.</summary>
    Delivered,

    /// <summary>Not confirmed (no connection, handshake refused, write failed, ack timeout, shutdown): send it again later.</summary>
    Retry,
}

public readonly record struct ForwardSendResult(ForwardSendStatus Status, string? Reason = null)
{
    public static ForwardSendResult Delivered => new(ForwardSendStatus.Delivered);

    public static ForwardSendResult Retry(string reason) => new(ForwardSendStatus.Retry, reason);
}
