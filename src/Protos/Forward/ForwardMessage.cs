namespace Gateway.Protos.Forward;

/// <summary>The four Forward protocol v1 carrier modes.</summary>
public enum ForwardMode
{
    /// <summary><c>[tag, time, record(, option)]</c>.</summary>
    Message,

    /// <summary><c>[tag, [[time, record], ...](, option)]</c>.</summary>
    Forward,

    /// <summary><c>[tag, bin|str entries(, option)]</c>.</summary>
    PackedForward,

    /// <summary>PackedForward with <c>option.compressed</c> set to <c>gzip</c> or <c>zstd</c>.</summary>
    CompressedPackedForward,
}

/// <summary>
/// One decoded Forward message: the tag, its events as concatenated msgpack <c>[time, record]</c> /
/// <c>[[time, metadata], record]</c> entries (the layout of <c>Gateway.Engine.Records.EventChunk</c>), and the
/// options the server acts on. <see cref="Events"/> is memory the message owns, so it may outlive the socket
/// buffer it was read from — until <see cref="ReturnEvents"/> when the decoder rented it from the array pool.
/// </summary>
public sealed class ForwardMessage
{
    private byte[]? _pooledEvents;

    public ForwardMessage(ForwardMode mode, string tag, ReadOnlyMemory<byte> events, int eventCount, ForwardMessageOptions options)
    {
        Mode = mode;
        Tag = tag;
        Events = events;
        EventCount = eventCount;
        Options = options;
    }

    internal ForwardMessage(ForwardMode mode, string tag, byte[] pooledEvents, int length, int eventCount, ForwardMessageOptions options)
        : this(mode, tag, pooledEvents.AsMemory(0, length), eventCount, options)
    {
        _pooledEvents = pooledEvents;
    }

    /// <summary>
    /// Gives the event bytes back to <see cref="System.Buffers.ArrayPool{T}.Shared"/> when the decoder rented
    /// them (<c>pooledEvents: true</c>); a no-op otherwise. <see cref="Events"/> must not be used afterwards.
    /// </summary>
    public void ReturnEvents()
    {
        if (_pooledEvents is { } array)
        {
            _pooledEvents = null;
            System.Buffers.ArrayPool<byte>.Shared.Return(array);
        }
    }

    public ForwardMode Mode { get; }

    public string Tag { get; }

    public ReadOnlyMemory<byte> Events { get; }

    public int EventCount { get; }

    public ForwardMessageOptions Options { get; }

    public override string ToString() => $"{Mode} {Tag} ({EventCount} events, {Events.Length} bytes)";
}

/// <summary>
/// The options map of a Forward message. Unknown keys are ignored as Fluentd does; <see cref="NodeName"/> is
/// this project's extension (<c>"node"</c>) by which the shipper names the node the events came from.
/// </summary>
public sealed record ForwardMessageOptions(string? Chunk = null, long? Size = null, string? Compressed = null, string? NodeName = null)
{
    public static ForwardMessageOptions None { get; } = new();

    /// <summary>True when the sender asked for an <c>{"ack": chunk}</c> response.</summary>
    public bool WantsAck => Chunk is not null;
}

/// <summary>Why a connection's input was rejected; <see cref="ForwardProtocolError.Kind"/> becomes a metric tag.</summary>
public enum ForwardErrorKind
{
    /// <summary>Not msgpack, or msgpack that is not a Forward message.</summary>
    Malformed,

    /// <summary>The message is larger than the configured maximum (Buffer_Max_Size).</summary>
    Oversized,

    /// <summary>A compressed payload inflates beyond the configured maximum (a compression bomb).</summary>
    DecompressedTooLarge,

    /// <summary>Unknown compression, or compressed bytes that do not decompress.</summary>
    Compression,

    /// <summary><c>option.size</c> does not match the number of events.</summary>
    SizeMismatch,

    /// <summary>An entry that is not a valid Fluent event (bad time, record not a map, ...).</summary>
    InvalidEvent,

    /// <summary>Fluent Bit's <c>fluent_signal</c> option announces metrics or traces; only logs are accepted.</summary>
    UnsupportedSignal,
}

/// <summary>A protocol error: the connection that sent it should be closed with <see cref="Reason"/> in the log.</summary>
public sealed record ForwardProtocolError(ForwardErrorKind Kind, string Reason)
{
    /// <summary>Stable lower-case name for metric tags.</summary>
    public string KindName => Kind switch
    {
        ForwardErrorKind.Malformed => "malformed",
        ForwardErrorKind.Oversized => "oversized",
        ForwardErrorKind.DecompressedTooLarge => "decompressed_too_large",
        ForwardErrorKind.Compression => "compression",
        ForwardErrorKind.SizeMismatch => "size_mismatch",
        ForwardErrorKind.UnsupportedSignal => "unsupported_signal",
        _ => "invalid_event",
    };

    public override string ToString() => $"{KindName}: {Reason}";
}

/// <summary>Limits that keep one connection's memory bounded whatever the peer sends.</summary>
public sealed record ForwardDecoderLimits
{
    /// <summary>Fluent Bit in_forward's Buffer_Max_Size default (6144000 bytes).</summary>
    public const long DefaultMaxMessageBytes = 6_144_000;

    public const long DefaultMaxDecompressedBytes = 64L * 1024 * 1024;

    /// <summary>Largest accepted message on the wire, in bytes.</summary>
    public long MaxMessageBytes { get; init; } = DefaultMaxMessageBytes;

    /// <summary>Largest accepted decompressed payload of a CompressedPackedForward message, in bytes.</summary>
    public long MaxDecompressedBytes { get; init; } = DefaultMaxDecompressedBytes;

    /// <summary>Deepest accepted msgpack nesting (records included).</summary>
    public int MaxDepth { get; init; } = MessagePackFrameScanner.DefaultMaxDepth;
}
