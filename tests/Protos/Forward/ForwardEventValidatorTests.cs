using System.Buffers;
using Gateway.Protos.Forward;
using MessagePack;

namespace Gateway.Protos.Tests.Forward;

/// <summary>
/// The PackedForward payload check has a fast span walk for the common event shapes and an exact (scanner +
/// reader) path for everything else; whichever path decides, the answer must be the same.
/// </summary>
public sealed class ForwardEventValidatorTests
{
    private const int MaxDepth = MessagePackFrameScanner.DefaultMaxDepth;

    [Fact]
    public void Common_shapes_are_counted()
    {
        var payload = Concat(
            Event((ref MessagePackWriter w) => w.Write(1_700_000_000u), Record),
            Event((ref MessagePackWriter w) => w.WriteExtensionFormat(new ExtensionResult(0, new byte[8])), Record),
            Event((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(5); w.WriteMapHeader(1); w.Write("k"); w.Write("v"); }, Record),
            Event((ref MessagePackWriter w) => { w.WriteArrayHeader(2); w.Write(5); w.WriteNil(); }, Record),
            Event((ref MessagePackWriter w) => { w.WriteArrayHeader(1); w.Write(5); }, Record),
            Event((ref MessagePackWriter w) => w.Write(1.5), Record)); // float time: left to the exact path

        Assert.Null(ForwardEventValidator.ValidatePacked(payload, MaxDepth, out var count));
        Assert.Equal(6, count);
    }

    [Fact]
    public void A_bad_event_after_good_ones_is_named_by_its_offset()
    {
        var good = Event((ref MessagePackWriter w) => w.Write(7), Record);
        var bad = Event((ref MessagePackWriter w) => w.Write(7), (ref MessagePackWriter w) => w.Write("not a map"));
        var error = ForwardEventValidator.ValidatePacked(Concat(good, good, bad), MaxDepth, out _);
        Assert.Equal($"event at offset {good.Length * 2} has a record that is a string, expected a map", error);
    }

    [Fact]
    public void Truncated_reserved_byte_negative_time_and_deep_records_are_refused()
    {
        var good = Event((ref MessagePackWriter w) => w.Write(7), Record);
        Assert.Contains("truncated", ForwardEventValidator.ValidatePacked(good.AsMemory(0, good.Length - 1), MaxDepth, out _));

        var reserved = (byte[])good.Clone();
        reserved[^7] = 0xc1; // type byte of the record's last value ("stdout")
        Assert.NotNull(ForwardEventValidator.ValidatePacked(Concat(good, reserved), MaxDepth, out _));

        Assert.Contains("out of range", ForwardEventValidator.ValidatePacked(Event((ref MessagePackWriter w) => w.Write(-1), Record), MaxDepth, out _));

        var deep = Event((ref MessagePackWriter w) => w.Write(7), (ref MessagePackWriter w) =>
        {
            for (var i = 0; i < MaxDepth; i++)
            {
                w.WriteMapHeader(1);
                w.Write("k");
            }

            w.Write(1);
        });
        Assert.Contains("nesting", ForwardEventValidator.ValidatePacked(deep, MaxDepth, out _));

        var nearLimit = Event((ref MessagePackWriter w) => w.Write(7), (ref MessagePackWriter w) =>
        {
            for (var i = 0; i < MaxDepth - 2; i++)
            {
                w.WriteMapHeader(1);
                w.Write("k");
            }

            w.Write(1);
        });
        Assert.Null(ForwardEventValidator.ValidatePacked(nearLimit, MaxDepth, out var count));
        Assert.Equal(1, count);
    }

    private static void Record(ref MessagePackWriter w)
    {
        w.WriteMapHeader(3);
        w.Write("log");
        w.Write(new string('x', 120));
        w.Write("n");
        w.Write(ulong.MaxValue);
        w.Write("stream");
        w.Write("stdout");
    }

    private delegate void Part(ref MessagePackWriter writer);

    private static byte[] Event(Part time, Part record)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var w = new MessagePackWriter(buffer);
        w.WriteArrayHeader(2);
        time(ref w);
        record(ref w);
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
