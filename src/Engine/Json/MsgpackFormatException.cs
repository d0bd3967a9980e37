namespace Gateway.Engine.Json;

/// <summary>
/// Thrown when bytes handed to a msgpack formatter are not valid msgpack; the message names the problem and the
/// byte offset so a bad chunk can be reported instead of crashing the output.
/// </summary>
public sealed class MsgpackFormatException : FormatException
{
    public MsgpackFormatException(string message, int offset)
        : base($"{message} at msgpack offset {offset}")
    {
        Offset = offset;
    }

    /// <summary>Offset of the offending byte in the buffer being formatted.</summary>
    public int Offset { get; }
}
