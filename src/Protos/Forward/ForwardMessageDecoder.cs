using System.Buffers;
using MessagePack;

namespace Gateway.Protos.Forward;

/// <summary>What one <see cref="ForwardMessageDecoder.TryDecode"/> call produced.</summary>
public enum ForwardDecodeStatus
{
    /// <summary>No whole message yet: keep the buffer, read more bytes, call again.</summary>
    NeedMoreData,

    /// <summary>A message was decoded; drop <c>consumed</c> bytes from the buffer.</summary>
    Message,

    /// <summary>The input is not acceptable; close the connection and report the error.</summary>
    Error,
}

/// <summary>
/// Incremental decoder of Fluent Forward v1 messages (all four modes) for one connection. Feed it the bytes read
/// so far, starting at the first unconsumed byte; it answers NeedMoreData, one message, or a protocol error.
/// The message is first framed by a resumable header scan (<see cref="MessagePackFrameScanner"/>), which refuses
/// oversized or over-deep input as soon as the headers say so, before the bytes arrive; only a complete frame
/// is decoded, so nothing is ever allocated for a size that was merely declared.
/// Not thread-safe: one instance per connection.
/// </summary>
public sealed class ForwardMessageDecoder
{
    private readonly ForwardDecoderLimits _limits;
    private readonly MessagePackFrameScanner _scanner;
    private readonly bool _pooledEvents;

    /// <param name="limits">Size and depth limits; the defaults are Fluent Bit's.</param>
    /// <param name="pooledEvents">
    /// Rent the event bytes of (uncompressed) Forward and PackedForward messages from
    /// <see cref="ArrayPool{T}.Shared"/> instead of allocating them; the caller then hands each message back with
    /// <see cref="ForwardMessage.ReturnEvents"/> once it no longer needs the bytes. A server that stores each
    /// message before reading the next saves a large-object allocation per message this way.
    /// </param>
    public ForwardMessageDecoder(ForwardDecoderLimits? limits = null, bool pooledEvents = false)
    {
        _limits = limits ?? new ForwardDecoderLimits();
        _scanner = new MessagePackFrameScanner(_limits.MaxMessageBytes, _limits.MaxDepth);
        _pooledEvents = pooledEvents;
    }

    public ForwardDecoderLimits Limits => _limits;

    /// <summary>
    /// Decodes the next message from <paramref name="buffer"/>. Between a NeedMoreData answer and the next call
    /// the caller must pass the same bytes again plus whatever arrived (as a PipeReader does when it advances
    /// with consumed = start, examined = end).
    /// </summary>
    public ForwardDecodeStatus TryDecode(in ReadOnlySequence<byte> buffer, out ForwardMessage? message, out ForwardProtocolError? error, out long consumed)
    {
        message = null;
        error = null;
        consumed = 0;
        var status = _scanner.Scan(buffer);
        if (_scanner.FirstByte is { } first && !IsArrayHeader(first))
        {
            error = new ForwardProtocolError(ForwardErrorKind.Malformed, $"message does not start with a msgpack array (first byte 0x{first:x2})");
            return ForwardDecodeStatus.Error;
        }

        switch (status)
        {
            case FrameScanStatus.Incomplete:
                return ForwardDecodeStatus.NeedMoreData;
            case FrameScanStatus.Error:
                error = new ForwardProtocolError(_scanner.ErrorIsSizeLimit ? ForwardErrorKind.Oversized : ForwardErrorKind.Malformed, _scanner.Error!);
                return ForwardDecodeStatus.Error;
        }

        var length = _scanner.FrameLength;
        _scanner.Reset();
        consumed = length;
        try
        {
            error = DecodeFrame(buffer.Slice(0, length), out message);
        }
        catch (Exception ex) when (ex is MessagePackSerializationException or EndOfStreamException or OverflowException)
        {
            // The frame scan proved the structure; these only surface for values of the wrong kind the checks
            // above did not anticipate — still the peer's fault, never ours.
            error = new ForwardProtocolError(ForwardErrorKind.Malformed, $"malformed message: {ex.Message}");
        }

        if (error is not null)
        {
            message = null;
            return ForwardDecodeStatus.Error;
        }

        return ForwardDecodeStatus.Message;
    }

    private static bool IsArrayHeader(byte b) => b is (>= 0x90 and <= 0x9f) or 0xdc or 0xdd;

    private ForwardProtocolError? DecodeFrame(ReadOnlySequence<byte> frame, out ForwardMessage? message)
    {
        message = null;
        var reader = new MessagePackReader(frame);
        var elements = reader.ReadArrayHeader();
        if (elements is < 2 or > 4)
        {
            return Malformed($"message has {elements} elements, expected [tag, time, record(, option)], [tag, entries(, option)]");
        }

        if (reader.NextMessagePackType != MessagePackType.String)
        {
            return Malformed($"tag is {ForwardEventValidator.Describe(reader.NextMessagePackType)}, expected a string");
        }

        var tag = reader.ReadString() ?? string.Empty;
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.String or MessagePackType.Binary:
                return DecodePacked(ref reader, tag, elements, out message);
            case MessagePackType.Array:
                return DecodeForward(ref reader, frame, tag, elements, out message);
            case MessagePackType.Integer or MessagePackType.Float or MessagePackType.Extension:
                return DecodeMessageMode(ref reader, frame, tag, elements, out message);
            default:
                return Malformed($"second element is {ForwardEventValidator.Describe(reader.NextMessagePackType)}: not a time (Message), an array (Forward) or bin/str (PackedForward)");
        }
    }

    private ForwardProtocolError? DecodeMessageMode(ref MessagePackReader reader, ReadOnlySequence<byte> frame, string tag, int elements, out ForwardMessage? message)
    {
        message = null;
        if (elements < 3)
        {
            return Malformed("Message mode needs [tag, time, record(, option)]");
        }

        var timeStart = reader.Consumed;
        var timeError = ForwardEventValidator.ReadTime(ref reader, 0);
        if (timeError is not null)
        {
            return new ForwardProtocolError(ForwardErrorKind.InvalidEvent, timeError);
        }

        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            return new ForwardProtocolError(ForwardErrorKind.InvalidEvent, $"record is {ForwardEventValidator.Describe(reader.NextMessagePackType)}, expected a map");
        }

        reader.Skip();
        var recordEnd = reader.Consumed;
        var optionsError = ReadOptions(ref reader, elements == 4, out var options);
        if (optionsError is not null)
        {
            return optionsError;
        }

        // Message mode is the one place we re-encode: [time, record] from the two loose elements.
        var events = new byte[1 + (recordEnd - timeStart)];
        events[0] = 0x92;
        frame.Slice(timeStart, recordEnd - timeStart).CopyTo(events.AsSpan(1));
        return Finish(ForwardMode.Message, tag, events, 1, options, out message);
    }

    private ForwardProtocolError? DecodeForward(ref MessagePackReader reader, ReadOnlySequence<byte> frame, string tag, int elements, out ForwardMessage? message)
    {
        message = null;
        if (elements > 3)
        {
            return Malformed("Forward mode has [tag, entries(, option)], got 4 elements");
        }

        var count = reader.ReadArrayHeader();
        var entriesStart = reader.Consumed;
        for (var i = 0; i < count; i++)
        {
            var error = ForwardEventValidator.ReadEvent(ref reader, reader.Consumed - entriesStart);
            if (error is not null)
            {
                return new ForwardProtocolError(ForwardErrorKind.InvalidEvent, error);
            }
        }

        var entriesEnd = reader.Consumed;
        var optionsError = ReadOptions(ref reader, elements == 3, out var options);
        if (optionsError is not null)
        {
            return optionsError;
        }

        // The array's elements, without the array header, are already the concatenated-entries layout.
        return FinishCopy(ForwardMode.Forward, tag, frame.Slice(entriesStart, entriesEnd - entriesStart), count, options, out message);
    }

    private ForwardProtocolError? DecodePacked(ref MessagePackReader reader, string tag, int elements, out ForwardMessage? message)
    {
        message = null;
        if (elements > 3)
        {
            return Malformed("PackedForward mode has [tag, entries(, option)], got 4 elements");
        }

        var payload = reader.NextMessagePackType == MessagePackType.String
            ? reader.ReadStringSequence() ?? default
            : reader.ReadBytes() ?? default;
        var optionsError = ReadOptions(ref reader, elements == 3, out var options);
        if (optionsError is not null)
        {
            return optionsError;
        }

        byte[] events;
        var mode = ForwardMode.PackedForward;
        switch (options.Compressed)
        {
            case null or "text" when _pooledEvents:
                // Kept exactly as received: one copy out of the socket buffer (into a pooled array), no re-encoding.
                var length = checked((int)payload.Length);
                var rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                payload.CopyTo(rented);
                var pooledError = ForwardEventValidator.ValidatePacked(rented.AsMemory(0, length), _limits.MaxDepth, out var pooledCount);
                var result = pooledError is not null
                    ? new ForwardProtocolError(ForwardErrorKind.InvalidEvent, pooledError)
                    : Finish(mode, tag, rented, length, pooledCount, options, out message);
                if (result is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }

                return result;
            case null or "text":
                // Kept exactly as received: one copy out of the socket buffer, no re-encoding.
                events = payload.ToArray();
                break;
            case "gzip" or "zstd":
                mode = ForwardMode.CompressedPackedForward;
                var decompressError = ForwardDecompressor.TryDecompress(options.Compressed, payload, _limits.MaxDecompressedBytes, out events);
                if (decompressError is not null)
                {
                    return decompressError;
                }

                break;
            default:
                return new ForwardProtocolError(ForwardErrorKind.Compression, $"unsupported compression '{options.Compressed}' (expected gzip, zstd or text)");
        }

        var validationError = ForwardEventValidator.ValidatePacked(events, _limits.MaxDepth, out var count);
        if (validationError is not null)
        {
            return new ForwardProtocolError(ForwardErrorKind.InvalidEvent, validationError);
        }

        return Finish(mode, tag, events, count, options, out message);
    }

    private static ForwardProtocolError? Finish(ForwardMode mode, string tag, byte[] events, int count, ForwardMessageOptions options, out ForwardMessage? message)
    {
        message = null;
        if (options.Size is { } size && size != count)
        {
            return new ForwardProtocolError(ForwardErrorKind.SizeMismatch, $"option size is {size} but the message has {count} events");
        }

        message = new ForwardMessage(mode, tag, events, count, options);
        return null;
    }

    /// <summary>As <see cref="Finish(ForwardMode, string, byte[], int, ForwardMessageOptions, out ForwardMessage?)"/> for a pooled array; on error the caller returns it.</summary>
    private static ForwardProtocolError? Finish(ForwardMode mode, string tag, byte[] pooled, int length, int count, ForwardMessageOptions options, out ForwardMessage? message)
    {
        message = null;
        if (options.Size is { } size && size != count)
        {
            return new ForwardProtocolError(ForwardErrorKind.SizeMismatch, $"option size is {size} but the message has {count} events");
        }

        message = new ForwardMessage(mode, tag, pooled, length, count, options);
        return null;
    }

    /// <summary>Copies already-validated events out of the frame: into a pooled array when so configured.</summary>
    private ForwardProtocolError? FinishCopy(ForwardMode mode, string tag, ReadOnlySequence<byte> events, int count, ForwardMessageOptions options, out ForwardMessage? message)
    {
        if (!_pooledEvents)
        {
            return Finish(mode, tag, events.ToArray(), count, options, out message);
        }

        var length = checked((int)events.Length);
        var rented = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        events.CopyTo(rented);
        var error = Finish(mode, tag, rented, length, count, options, out message);
        if (error is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }

        return error;
    }

    private static ForwardProtocolError? ReadOptions(ref MessagePackReader reader, bool present, out ForwardMessageOptions options)
    {
        options = ForwardMessageOptions.None;
        if (!present)
        {
            return null;
        }

        // Old Docker (18.x) sends nil options; Fluent Bit lets it pass and so do we.
        if (reader.TryReadNil())
        {
            return null;
        }

        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            return Malformed($"option is {ForwardEventValidator.Describe(reader.NextMessagePackType)}, expected a map");
        }

        string? chunk = null;
        string? compressed = null;
        string? node = null;
        long? size = null;
        var count = reader.ReadMapHeader();
        for (var i = 0; i < count; i++)
        {
            if (reader.NextMessagePackType != MessagePackType.String)
            {
                reader.Skip();
                reader.Skip();
                continue;
            }

            var key = reader.ReadString();
            switch (key)
            {
                case "chunk":
                    if (reader.NextMessagePackType != MessagePackType.String)
                    {
                        return Malformed($"option chunk is {ForwardEventValidator.Describe(reader.NextMessagePackType)}, expected a string");
                    }

                    chunk = reader.ReadString();
                    break;
                case "size":
                    if (reader.NextMessagePackType != MessagePackType.Integer)
                    {
                        return Malformed($"option size is {ForwardEventValidator.Describe(reader.NextMessagePackType)}, expected an integer");
                    }

                    if (reader.NextCode == MessagePackCode.UInt64)
                    {
                        return Malformed("option size is out of range");
                    }

                    size = reader.ReadInt64();
                    break;
                case "compressed":
                    if (reader.NextMessagePackType != MessagePackType.String)
                    {
                        return Malformed($"option compressed is {ForwardEventValidator.Describe(reader.NextMessagePackType)}, expected a string");
                    }

                    compressed = reader.ReadString();
                    break;
                case "node":
                    if (reader.NextMessagePackType != MessagePackType.String)
                    {
                        return Malformed($"option node is {ForwardEventValidator.Describe(reader.NextMessagePackType)}, expected a string");
                    }

                    node = reader.ReadString();
                    break;
                case "fluent_signal":
                    // Fluent Bit's out_forward tags metrics (1) and traces (2) payloads this way; they are not
                    // events, so say so instead of failing on their content.
                    if (reader.NextMessagePackType != MessagePackType.Integer || reader.NextCode == MessagePackCode.UInt64)
                    {
                        return Malformed($"option fluent_signal is {ForwardEventValidator.Describe(reader.NextMessagePackType)}, expected an integer");
                    }

                    var signal = reader.ReadInt64();
                    if (signal != 0)
                    {
                        return new ForwardProtocolError(ForwardErrorKind.UnsupportedSignal, $"fluent_signal {signal} (metrics/traces) is not supported; only logs (0)");
                    }

                    break;
                default:
                    // Unknown options (metadata, ...) are ignored as Fluentd does.
                    reader.Skip();
                    break;
            }
        }

        options = new ForwardMessageOptions(chunk, size, compressed, node);
        return null;
    }

    private static ForwardProtocolError Malformed(string reason) => new(ForwardErrorKind.Malformed, reason);
}
