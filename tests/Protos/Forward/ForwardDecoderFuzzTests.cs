using System.Buffers;
using Gateway.Protos.Forward;
using MessagePack;
using static Gateway.Protos.Tests.Forward.ForwardTestData;

namespace Gateway.Protos.Tests.Forward;

/// <summary>
/// Throws malformed input at the decoder: random bytes, truncations, mutations, huge declared sizes, wrong types
/// in every position, compression bombs. The decoder may answer NeedMoreData, a message or a protocol error —
/// never an exception — and never allocates beyond its limits.
/// </summary>
public sealed class ForwardDecoderFuzzTests
{
    private static readonly ForwardDecoderLimits Limits = new() { MaxMessageBytes = 64 * 1024, MaxDecompressedBytes = 1024 * 1024 };

    /// <summary>Upper bound for one decode call: message copy + decompression buffers, with slack.</summary>
    private const long MaxAllocationPerFrame = 8L * 1024 * 1024;

    private int _frames;
    private int _errors;

    [Fact]
    public void Ten_thousand_malformed_frames_only_produce_protocol_errors()
    {
        var random = new Random(20261125);
        var valid = ValidMessages();

        for (var i = 0; i < 4000; i++)
        {
            var bytes = new byte[random.Next(1, 256)];
            random.NextBytes(bytes);
            Check(bytes, random);
        }

        foreach (var message in valid)
        {
            for (var cut = 1; cut < message.Length; cut++)
            {
                // Any strict prefix of a valid message is just "not there yet".
                var status = Decode(message[..cut], out _);
                Assert.Equal(ForwardDecodeStatus.NeedMoreData, status);
                _frames++;
            }
        }

        for (var i = 0; i < 5000; i++)
        {
            var bytes = (byte[])valid[random.Next(valid.Length)].Clone();
            var flips = random.Next(1, 4);
            for (var f = 0; f < flips; f++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }

            Check(bytes, random);
        }

        byte[] sizedHeaders = [0xc6, 0xdb, 0xc9, 0xdd, 0xdf, 0xc5, 0xda, 0xdc, 0xde];
        for (var i = 0; i < 2000; i++)
        {
            var bytes = (byte[])valid[random.Next(valid.Length)].Clone();
            var at = random.Next(bytes.Length);
            var header = new byte[5];
            header[0] = sizedHeaders[random.Next(sizedHeaders.Length)];
            random.NextBytes(header.AsSpan(1));
            var mutated = Concat(bytes[..at], header, bytes[at..]);
            Check(mutated, random);
        }

        foreach (var wrong in WrongTypesInEveryPosition())
        {
            var status = Check(wrong, random);
            Assert.True(status != ForwardDecodeStatus.Message, Convert.ToHexString(wrong));
        }

        foreach (var bomb in Bombs())
        {
            var status = Check(bomb, random);
            Assert.Equal(ForwardDecodeStatus.Error, status);
        }

        Assert.True(_frames >= 10_000, $"only {_frames} frames");
        Assert.True(_errors >= 5_000, $"only {_errors} errors");
    }

    private ForwardDecodeStatus Check(byte[] bytes, Random random)
    {
        _frames++;
        var before = GC.GetAllocatedBytesForCurrentThread();
        var status = Decode(bytes, out var error);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < MaxAllocationPerFrame, $"allocated {allocated} bytes for a {bytes.Length}-byte frame");
        if (status == ForwardDecodeStatus.Error)
        {
            _errors++;
            Assert.False(string.IsNullOrWhiteSpace(error!.Reason));
        }

        // Fed in random pieces the decoder must reach the same verdict as in one go.
        var chunked = DecodeChunked(bytes, random);
        Assert.Equal(status, chunked);
        return status;
    }

    private static ForwardDecodeStatus Decode(byte[] bytes, out ForwardProtocolError? error)
    {
        var decoder = new ForwardMessageDecoder(Limits);
        return decoder.TryDecode(new ReadOnlySequence<byte>(bytes), out _, out error, out _);
    }

    private static ForwardDecodeStatus DecodeChunked(byte[] bytes, Random random)
    {
        var decoder = new ForwardMessageDecoder(Limits);
        var end = 0;
        while (true)
        {
            end = Math.Min(bytes.Length, end + random.Next(1, 40));
            var status = decoder.TryDecode(new ReadOnlySequence<byte>(bytes, 0, end), out _, out _, out _);
            if (status != ForwardDecodeStatus.NeedMoreData || end == bytes.Length)
            {
                return status;
            }
        }
    }

    private static byte[][] ValidMessages()
    {
        var entries = Concat(Event(1, "a"), V2Event(2, "b"), IntEvent(3, "c"), FloatEvent(4.5, "d"));
        return
        [
            Packed("packed", entries, chunk: "c1", size: 4),
            Packed("str", entries, asString: true),
            Packed("gz", Gzip(entries), compressed: "gzip", size: 4, node: "n"),
            Packed("zs", Zstd(entries), compressed: "zstd", chunk: "z"),
            Msgpack((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(3);
                w.Write("fwd");
                w.WriteArrayHeader(2);
                w.WriteRaw(Event(1, "x"));
                w.WriteRaw(V2Event(2, "y"));
                WriteOptions(ref w, chunk: "f", size: 2);
            }),
            Msgpack((ref MessagePackWriter w) =>
            {
                w.WriteArrayHeader(4);
                w.Write("msg");
                WriteEventTime(ref w, 10, 20);
                w.WriteRaw(Record("m"));
                WriteOptions(ref w, chunk: "m");
            }),
        ];
    }

    /// <summary>Each position of each mode replaced by each msgpack type that does not belong there.</summary>
    private static IEnumerable<byte[]> WrongTypesInEveryPosition()
    {
        Build[] values =
        [
            (ref MessagePackWriter w) => w.WriteNil(),
            (ref MessagePackWriter w) => w.Write(true),
            (ref MessagePackWriter w) => w.Write(-5),
            (ref MessagePackWriter w) => w.Write(ulong.MaxValue),
            (ref MessagePackWriter w) => w.Write(double.NaN),
            (ref MessagePackWriter w) => w.Write("text"),
            (ref MessagePackWriter w) => w.Write(new byte[] { 1, 2, 3 }),
            (ref MessagePackWriter w) => { w.WriteArrayHeader(1); w.Write(1); },
            (ref MessagePackWriter w) => { w.WriteMapHeader(1); w.Write(1); w.Write(1); },
            (ref MessagePackWriter w) => { w.WriteExtensionFormatHeader(new ExtensionHeader(5, 2)); w.WriteRaw(new byte[] { 0, 0 }); },
        ];

        // Message mode: [tag, time, record, option]; replace each slot whose type differs from the valid one.
        var record = Record("r");
        var time = Msgpack((ref MessagePackWriter w) => w.Write(7));
        var options = Msgpack((ref MessagePackWriter w) => WriteOptions(ref w, chunk: "c", size: 1));
        byte[][] message = [Msgpack((ref MessagePackWriter w) => w.Write("tag")), time, record, options];
        byte[][] packed = [message[0], Msgpack((ref MessagePackWriter w) => w.Write(Event(1, "e"))), options];
        byte[][] forward = [message[0], Msgpack((ref MessagePackWriter w) => { w.WriteArrayHeader(1); w.WriteRaw(Event(1, "e")); }), options];

        // Inside an event [time, record]: wrong time or record types.
        foreach (var template in new[] { message, packed, forward })
        {
            for (var slot = 0; slot < template.Length; slot++)
            {
                foreach (var value in values)
                {
                    var replacement = Msgpack(value);
                    if (IsAcceptableReplacement(template, slot, replacement))
                    {
                        continue;
                    }

                    var parts = (byte[][])template.Clone();
                    parts[slot] = replacement;
                    yield return Msgpack((ref MessagePackWriter w) =>
                    {
                        w.WriteArrayHeader(parts.Length);
                        foreach (var p in parts)
                        {
                            w.WriteRaw(p);
                        }
                    });
                }
            }
        }

        foreach (var value in values)
        {
            var v = Msgpack(value);
            var badTime = Msgpack((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.WriteRaw(v); w.WriteRaw(record); });
            var badRecord = Msgpack((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(1); w.WriteRaw(v); });
            if (v[0] is not (0xfb or 0xa4 or 0xc3) && !(v.Length > 1 && v[0] == 0x81))
            {
                yield return Packed("t", badRecord);
            }

            if (v[0] is 0xc0 or 0xc3 or 0xfb or 0xa4 or 0xc4 or 0x81 or 0xd5 or 0xcf or 0xcb)
            {
                yield return Packed("t", badTime);
            }
        }
    }

    /// <summary>Replacements that are legitimately accepted or switch to another valid mode.</summary>
    private static bool IsAcceptableReplacement(byte[][] template, int slot, byte[] replacement)
    {
        var category = Category(replacement[0]);
        if (category == Category(template[slot][0]))
        {
            return true;
        }

        if (slot == template.Length - 1)
        {
            // nil options are allowed (old Docker 18.x).
            return category == "nil";
        }

        // The second element decides the mode: str/bin/array select another mode rather than being wrong.
        return slot == 1 && category is "str" or "bin" or "array";
    }

    private static string Category(byte b) => b switch
    {
        <= 0x7f or 0xcc or 0xcd or 0xce or 0xcf => "posint",
        >= 0xe0 or 0xd0 or 0xd1 or 0xd2 or 0xd3 => "negint",
        <= 0x8f or 0xde or 0xdf => "map",
        <= 0x9f or 0xdc or 0xdd => "array",
        <= 0xbf or 0xd9 or 0xda or 0xdb => "str",
        0xc0 => "nil",
        0xc2 or 0xc3 => "bool",
        0xc4 or 0xc5 or 0xc6 => "bin",
        0xca or 0xcb => "float",
        _ => "ext",
    };

    private static IEnumerable<byte[]> Bombs()
    {
        var zeros = new byte[16 * 1024 * 1024];
        var gz = Gzip(zeros);
        yield return Packed("bomb", gz, compressed: "gzip");
        yield return Packed("bomb", Concat(gz, gz), compressed: "gzip");
        yield return Packed("bomb", Zstd(zeros), compressed: "zstd");

        // Decompresses within the cap but to garbage, not events.
        var noise = new byte[100_000];
        new Random(1).NextBytes(noise);
        yield return Packed("noise", Gzip(noise), compressed: "gzip");
        yield return Packed("noise", noise[..1000], compressed: "zstd");
    }
}
