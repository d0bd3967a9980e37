using System.Buffers;
using Gateway.Protos.Forward;
using MessagePack;
using static Gateway.Protos.Tests.Forward.ForwardTestData;

namespace Gateway.Protos.Tests.Forward;

public sealed class ForwardMessageDecoderTests
{
    private static ForwardMessage DecodeOne(byte[] bytes, ForwardDecoderLimits? limits = null)
    {
        var decoder = new ForwardMessageDecoder(limits);
        var status = decoder.TryDecode(new ReadOnlySequence<byte>(bytes), out var message, out var error, out var consumed);
        Assert.True(status == ForwardDecodeStatus.Message, error?.ToString());
        Assert.Equal(bytes.Length, consumed);
        return message!;
    }

    private static ForwardProtocolError DecodeError(byte[] bytes, ForwardDecoderLimits? limits = null)
    {
        var decoder = new ForwardMessageDecoder(limits);
        var status = decoder.TryDecode(new ReadOnlySequence<byte>(bytes), out _, out var error, out _);
        Assert.Equal(ForwardDecodeStatus.Error, status);
        return error!;
    }

    private static byte[] WrittenApart(string tag, byte[] payload)
    {
        var buffer = new ArrayBufferWriter<byte>();
        ForwardMessageWriter.WritePackedForwardHead(buffer, tag, payload.Length);
        buffer.Write(payload);
        ForwardMessageWriter.WritePackedForwardOptions(buffer, 2, "chunk-9", ForwardCompression.None, "node-1");
        return buffer.WrittenSpan.ToArray();
    }

    [Fact]
    public void Message_mode_with_each_time_type_becomes_one_event()
    {
        var record = Record("hello");
        var times = new Build[]
        {
            (ref MessagePackWriter w) => w.Write(1_700_000_000),
            (ref MessagePackWriter w) => w.Write(1_700_000_000.25),
            (ref MessagePackWriter w) => WriteEventTime(ref w, 1_700_000_000, 42),
        };
        foreach (var time in times)
        {
            var timeBytes = Msgpack(time);
            var bytes = Msgpack((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(4);
                w.Write("app.log");
                w.WriteRaw(timeBytes);
                w.WriteRaw(record);
                WriteOptions(ref w, chunk: "c1", node: "node-7");
            });

            var message = DecodeOne(bytes);
            Assert.Equal(ForwardMode.Message, message.Mode);
            Assert.Equal("app.log", message.Tag);
            Assert.Equal(1, message.EventCount);
            Assert.Equal(Concat([0x92], timeBytes, record), message.Events.ToArray());
            Assert.Equal("c1", message.Options.Chunk);
            Assert.Equal("node-7", message.Options.NodeName);
        }
    }

    [Fact]
    public void Message_mode_without_options_is_accepted()
    {
        var bytes = Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write("t");
            w.Write(1);
            w.WriteRaw(Record("x"));
        });
        var message = DecodeOne(bytes);
        Assert.False(message.Options.WantsAck);
    }

    [Fact]
    public void Forward_mode_keeps_entries_of_every_layout_as_they_are()
    {
        var entries = new[] { IntEvent(1, "a"), FloatEvent(2.5, "b"), Event(3, "c"), V2Event(4, "d") };
        var bytes = Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write("fwd");
            w.WriteArrayHeader(entries.Length);
            foreach (var e in entries)
            {
                w.WriteRaw(e);
            }

            WriteOptions(ref w, chunk: "abc", size: 4);
        });

        var message = DecodeOne(bytes);
        Assert.Equal(ForwardMode.Forward, message.Mode);
        Assert.Equal(4, message.EventCount);
        Assert.Equal(Concat(entries), message.Events.ToArray());
        Assert.Equal(4, message.Options.Size);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PackedForward_bin_or_str_payload_is_kept_byte_for_byte(bool asString)
    {
        var entries = Concat(Event(1, "a"), V2Event(2, "b"), IntEvent(3, "c"));
        var message = DecodeOne(Packed("packed", entries, asString, chunk: "id-1", size: 3));
        Assert.Equal(ForwardMode.PackedForward, message.Mode);
        Assert.Equal(3, message.EventCount);
        Assert.Equal(entries, message.Events.ToArray());
    }

    [Fact]
    public void CompressedPackedForward_gzip_single_and_multi_member()
    {
        var first = Concat(Event(1, "a"), Event(2, "b"));
        var second = Concat(V2Event(3, "c"));

        var single = DecodeOne(Packed("gz", Gzip(Concat(first, second)), compressed: "gzip", size: 3));
        Assert.Equal(ForwardMode.CompressedPackedForward, single.Mode);
        Assert.Equal(Concat(first, second), single.Events.ToArray());

        // Fluentd compresses each appended piece separately: the payload is concatenated gzip members.
        var multi = DecodeOne(Packed("gz", Concat(Gzip(first), Gzip(second)), compressed: "gzip", size: 3));
        Assert.Equal(3, multi.EventCount);
        Assert.Equal(Concat(first, second), multi.Events.ToArray());
    }

    [Fact]
    public void CompressedPackedForward_zstd()
    {
        var entries = Concat(Event(1, "a"), IntEvent(2, "b"));
        var message = DecodeOne(Packed("zs", Zstd(entries), compressed: "zstd", chunk: "z"));
        Assert.Equal(ForwardMode.CompressedPackedForward, message.Mode);
        Assert.Equal(2, message.EventCount);
        Assert.Equal(entries, message.Events.ToArray());
    }

    [Fact]
    public void Writer_output_decodes_for_every_compression()
    {
        var entries = Concat(Event(1, "a"), V2Event(2, "b"));
        foreach (var compression in new[] { ForwardCompression.None, ForwardCompression.Gzip, ForwardCompression.Zstd })
        {
            var buffer = new ArrayBufferWriter<byte>();
            ForwardMessageWriter.WritePackedForward(buffer, "w.tag", entries, 2, "chunk-9", compression, "node-1");
            var message = DecodeOne(buffer.WrittenSpan.ToArray());
            Assert.Equal("w.tag", message.Tag);
            Assert.Equal(entries, message.Events.ToArray());
            Assert.Equal(new ForwardMessageOptions("chunk-9", 2, compression switch
            {
                ForwardCompression.None => null,
                ForwardCompression.Gzip => "gzip",
                _ => "zstd",
            }, "node-1"), message.Options);
        }
    }

    [Fact]
    public void Head_payload_and_options_written_apart_are_the_same_message_as_written_whole()
    {
        // The forward client writes the events from the chunk's own memory between the head and the options.
        var entries = Concat(Event(1, "a"), V2Event(2, "b"));
        foreach (var payload in new[] { entries, new byte[300], new byte[70_000] })
        {
            var whole = new ArrayBufferWriter<byte>();
            ForwardMessageWriter.WritePackedForward(whole, "w.tag", payload, 2, "chunk-9", ForwardCompression.None, "node-1");
            var apart = new ArrayBufferWriter<byte>();
            ForwardMessageWriter.WritePackedForwardHead(apart, "w.tag", payload.Length);
            apart.Write(payload);
            ForwardMessageWriter.WritePackedForwardOptions(apart, 2, "chunk-9", ForwardCompression.None, "node-1");
            Assert.Equal(whole.WrittenSpan.ToArray(), apart.WrittenSpan.ToArray());
        }

        var message = DecodeOne(WrittenApart("w.tag", entries));
        Assert.Equal(entries, message.Events.ToArray());
        Assert.Equal(new ForwardMessageOptions("chunk-9", 2, null, "node-1"), message.Options);
    }

    [Fact]
    public void Chunk_ids_are_base64_of_16_bytes_and_differ()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 1000; i++)
        {
            var id = ForwardMessageWriter.NewChunkId();
            Assert.Equal(16, Convert.FromBase64String(id).Length);
            Assert.True(ids.Add(id), $"chunk id {id} repeated");
        }
    }

    [Fact]
    public void Byte_by_byte_delivery_yields_need_more_data_then_each_message()
    {
        var one = Packed("a", Concat(Event(1, "x"), Event(2, "y")), chunk: "1");
        var two = Packed("b", Gzip(Event(3, "z")), compressed: "gzip");
        var stream = Concat(one, two);
        var decoder = new ForwardMessageDecoder();
        var start = 0;
        var messages = new List<ForwardMessage>();
        for (var end = 0; end <= stream.Length; end++)
        {
            var status = decoder.TryDecode(new ReadOnlySequence<byte>(stream, start, end - start), out var message, out var error, out var consumed);
            Assert.NotEqual(ForwardDecodeStatus.Error, status);
            if (status == ForwardDecodeStatus.Message)
            {
                messages.Add(message!);
                start += (int)consumed;
            }
        }

        Assert.Equal(stream.Length, start);
        Assert.Equal(["a", "b"], messages.Select(m => m.Tag));
        Assert.Equal([2, 1], messages.Select(m => m.EventCount));
    }

    [Fact]
    public void Pooled_events_hold_the_same_bytes_and_a_refused_message_keeps_nothing_rented()
    {
        var entries = Concat(Event(1, "x"), V2Event(2, "y"));
        var bytes = Packed("pool", entries, chunk: "p", size: 2);
        var decoder = new ForwardMessageDecoder(pooledEvents: true);
        Assert.Equal(ForwardDecodeStatus.Message, decoder.TryDecode(Segments.Split(bytes, 5), out var message, out _, out var consumed));
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(entries, message!.Events.ToArray());
        Assert.Equal(2, message.EventCount);
        message.ReturnEvents();
        message.ReturnEvents(); // a second call is harmless

        var mismatch = Packed("pool", entries, size: 3);
        Assert.Equal(ForwardDecodeStatus.Error, decoder.TryDecode(new ReadOnlySequence<byte>(mismatch), out var refused, out var error, out _));
        Assert.Null(refused);
        Assert.Equal(ForwardErrorKind.SizeMismatch, error!.Kind);
    }

    [Fact]
    public void Multi_segment_sequences_decode_like_contiguous_ones()
    {
        var bytes = Packed("seg", Concat(Event(1, "x"), V2Event(2, "y")), chunk: "s", size: 2);
        var sequence = Segments.Split(bytes, 3);
        var decoder = new ForwardMessageDecoder();
        Assert.Equal(ForwardDecodeStatus.Message, decoder.TryDecode(sequence, out var message, out _, out var consumed));
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(2, message!.EventCount);
    }

    [Fact]
    public void Options_nil_unknown_and_size_mismatch()
    {
        var entries = Event(1, "x");
        var withNil = Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write("t");
            w.Write(entries);
            w.WriteNil();
        });
        Assert.Equal(ForwardMessageOptions.None, DecodeOne(withNil).Options);

        var withUnknown = Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write("t");
            w.Write(entries);
            WriteOptions(ref w, chunk: "k", unknown: true);
        });
        Assert.Equal("k", DecodeOne(withUnknown).Options.Chunk);

        var mismatch = DecodeError(Packed("t", entries, size: 2));
        Assert.Equal(ForwardErrorKind.SizeMismatch, mismatch.Kind);
        Assert.Contains("size is 2 but the message has 1", mismatch.Reason, StringComparison.Ordinal);

        Assert.Equal(ForwardErrorKind.Compression, DecodeError(Packed("t", entries, compressed: "lz4")).Kind);
        Assert.Equal(ForwardErrorKind.Compression, DecodeError(Packed("t", entries, compressed: "gzip")).Kind);
    }

    [Fact]
    public void Fluent_bit_metrics_and_traces_signals_are_refused_logs_accepted()
    {
        byte[] WithSignal(long signal) => Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(3);
            w.Write("t");
            w.Write(Event(1, "x"));
            w.WriteMapHeader(1);
            w.Write("fluent_signal");
            w.Write(signal);
        });

        Assert.Equal(1, DecodeOne(WithSignal(0)).EventCount);
        var error = DecodeError(WithSignal(1));
        Assert.Equal(ForwardErrorKind.UnsupportedSignal, error.Kind);
        Assert.Equal("unsupported_signal", error.KindName);
    }

    [Fact]
    public void Invalid_events_are_named_with_their_offset()
    {
        var badTime = Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write("not a time");
            w.WriteRaw(Record("x"));
        });
        var error = DecodeError(Packed("t", Concat(Event(1, "ok"), badTime)));
        Assert.Equal(ForwardErrorKind.InvalidEvent, error.Kind);
        Assert.Contains($"offset {Event(1, "ok").Length}", error.Reason, StringComparison.Ordinal);

        var recordNotMap = Msgpack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(2);
            w.Write(1);
            w.Write(5);
        });
        Assert.Contains("record", DecodeError(Packed("t", recordNotMap)).Reason, StringComparison.Ordinal);
        Assert.Contains("truncated", DecodeError(Packed("t", Event(1, "x")[..^2])).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Declared_huge_sizes_are_refused_from_the_header_without_allocating_them()
    {
        // [ "tag", bin32 of 4 GB ... ] — only the header arrives.
        byte[] hugeBin = [0x92, 0xa3, (byte)'t', (byte)'a', (byte)'g', 0xc6, 0xff, 0xff, 0xff, 0xf0];
        byte[] hugeArray = [0x92, 0xa1, (byte)'t', 0xdd, 0xff, 0xff, 0xff, 0xff];
        byte[] hugeMap = [0xdf, 0x7f, 0xff, 0xff, 0xff];
        foreach (var bytes in new[] { hugeBin, hugeArray, hugeMap })
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            var decoder = new ForwardMessageDecoder();
            var status = decoder.TryDecode(new ReadOnlySequence<byte>(bytes), out _, out var error, out _);
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(ForwardDecodeStatus.Error, status);
            Assert.True(allocated < 64 * 1024, $"allocated {allocated} bytes");
            Assert.NotNull(error);
        }

        Assert.Equal(ForwardErrorKind.Oversized, DecodeError(hugeBin).Kind);
        Assert.Equal(ForwardErrorKind.Malformed, DecodeError(hugeMap).Kind);
    }

    [Fact]
    public void Message_larger_than_max_is_oversized()
    {
        var entries = Concat(Enumerable.Range(0, 200).Select(i => Event((uint)i, new string('x', 100))).ToArray());
        var error = DecodeError(Packed("big", entries), new ForwardDecoderLimits { MaxMessageBytes = 10_000 });
        Assert.Equal(ForwardErrorKind.Oversized, error.Kind);
        Assert.Contains("10000", error.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Gzip_bomb_is_refused_at_the_decompressed_cap()
    {
        var zeros = new byte[50 * 1024 * 1024];
        var bomb = Packed("bomb", Gzip(zeros), compressed: "gzip");
        Assert.True(bomb.Length < 200 * 1024);
        var limits = new ForwardDecoderLimits { MaxDecompressedBytes = 1024 * 1024 };
        var before = GC.GetAllocatedBytesForCurrentThread();
        var error = DecodeError(bomb, limits);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(ForwardErrorKind.DecompressedTooLarge, error.Kind);
        Assert.True(allocated < 8 * 1024 * 1024, $"allocated {allocated} bytes");

        var zstdBomb = Packed("bomb", Zstd(zeros), compressed: "zstd");
        Assert.Equal(ForwardErrorKind.DecompressedTooLarge, DecodeError(zstdBomb, limits).Kind);
    }

    [Fact]
    public void Deep_nesting_is_refused()
    {
        var deep = Concat([0x92, 0xa1, (byte)'t'], Enumerable.Repeat((byte)0x91, 10_000).ToArray(), [0xc0]);
        Assert.Contains("nesting", DecodeError(deep).Reason, StringComparison.Ordinal);

        // Nesting hidden inside a (compressed) packed payload never went through the wire scanner.
        var deepEvent = Concat([0x92, 0x01, 0x81, 0xa1, (byte)'k'], Enumerable.Repeat((byte)0x91, 10_000).ToArray(), [0xc0]);
        Assert.Contains("nesting", DecodeError(Packed("t", Gzip(deepEvent), compressed: "gzip")).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Non_array_and_wrong_shapes_are_malformed()
    {
        Assert.Equal(ForwardErrorKind.Malformed, DecodeError([0x81, 0xa1, (byte)'a', 0x01]).Kind);
        Assert.Equal(ForwardErrorKind.Malformed, DecodeError([0x91, 0xa1, (byte)'a']).Kind);
        Assert.Equal(ForwardErrorKind.Malformed, DecodeError([0x92, 0x01, 0x01]).Kind);
        Assert.Equal(ForwardErrorKind.Malformed, DecodeError([0x92, 0xa1, (byte)'a', 0xc0]).Kind);
        Assert.Equal(ForwardErrorKind.Malformed, DecodeError([0xc1]).Kind);
    }

    [Fact]
    public void Ack_round_trips_and_waits_for_whole_response()
    {
        var buffer = new ArrayBufferWriter<byte>();
        ForwardAck.Write(buffer, "Y2h1bmstaWQ=");
        var bytes = buffer.WrittenSpan.ToArray();
        Assert.Equal(ForwardReadStatus.NeedMoreData, ForwardAck.TryRead(new ReadOnlySequence<byte>(bytes[..^1]), out _, out _, out _));
        Assert.Equal(ForwardReadStatus.Ok, ForwardAck.TryRead(new ReadOnlySequence<byte>(bytes), out var chunk, out var consumed, out _));
        Assert.Equal("Y2h1bmstaWQ=", chunk);
        Assert.Equal(bytes.Length, consumed);
        Assert.Equal(ForwardReadStatus.Error, ForwardAck.TryRead(new ReadOnlySequence<byte>([0x80]), out _, out _, out _));
    }
}

/// <summary>Splits bytes into a multi-segment sequence to exercise segment boundaries.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Split(byte[] bytes, int segmentSize)
    {
        var first = new Segments(bytes.AsMemory(0, Math.Min(segmentSize, bytes.Length)), 0);
        var last = first;
        for (var offset = segmentSize; offset < bytes.Length; offset += segmentSize)
        {
            var next = new Segments(bytes.AsMemory(offset, Math.Min(segmentSize, bytes.Length - offset)), offset);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
