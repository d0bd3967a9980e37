using System.Text;
using Gateway.Engine.Buffers;
using Gateway.Shipper.Inputs.Systemd;
using Gateway.Shipper.Tests.Fakes;

namespace Gateway.Shipper.Tests.Systemd;

public sealed class JournalEntryEncoderTests
{
    private const string Line =
        "{\"__CURSOR\":\"s=abc;i=7\",\"__REALTIME_TIMESTAMP\":\"1700000000123456\",\"__MONOTONIC_TIMESTAMP\":\"99\"," +
        "\"_SYSTEMD_UNIT\":\"kubelet.service\",\"_HOSTNAME\":\"node-1\",\"MESSAGE\":\"I1125 \\\"quoted\\\" \\u00e9\"," +
        "\"PRIORITY\":\"6\",\"_SOURCE_REALTIME_TIMESTAMP\":\"1600000000000000\"}";

    [Fact]
    public void Packs_data_fields_as_strings_without_the_double_underscore_metadata()
    {
        var (ev, encoder) = EncodeOne(Line, new SystemdInputOptions());

        Assert.Equal(["_SYSTEMD_UNIT", "_HOSTNAME", "MESSAGE", "PRIORITY", "_SOURCE_REALTIME_TIMESTAMP"], Keys(ev));
        Assert.Equal("I1125 \"quoted\" é", ev["MESSAGE"]);
        Assert.Equal("s=abc;i=7", Encoding.UTF8.GetString(encoder.Cursor));
        Assert.Equal("kubelet.service", Encoding.UTF8.GetString(encoder.Unit));
    }

    [Fact]
    public void Event_time_is_the_entry_realtime_as_in_systemd_not_the_source_time()
    {
        var (ev, _) = EncodeOne(Line, new SystemdInputOptions());

        Assert.Equal(1700000000u, ev.Time.Seconds);
        Assert.Equal(123456000u, ev.Time.Nanoseconds);
    }

    [Fact]
    public void Strip_underscores_and_lowercase_rename_keys()
    {
        var (ev, _) = EncodeOne(Line, new SystemdInputOptions { StripUnderscores = true, Lowercase = true });

        Assert.Equal(["systemd_unit", "hostname", "message", "priority", "source_realtime_timestamp"], Keys(ev));
    }

    [Fact]
    public void Max_fields_keeps_the_first_fields()
    {
        var (ev, encoder) = EncodeOne(Line, new SystemdInputOptions { MaxFields = 2 });

        Assert.Equal(["_SYSTEMD_UNIT", "_HOSTNAME"], Keys(ev));
        Assert.True(encoder.FieldsTruncated);
    }

    [Fact]
    public void Binary_values_become_byte_strings_and_repeated_fields_arrays()
    {
        var line = "{\"__REALTIME_TIMESTAMP\":\"1\",\"MESSAGE\":[104,105,10],\"TAG\":[\"a\",\"b\"],\"EMPTY\":\"\"}";

        var (ev, _) = EncodeOne(line, new SystemdInputOptions());

        Assert.Equal("hi\n", ev["MESSAGE"]);
        Assert.Equal(new List<object?> { "a", "b" }, ev["TAG"]);
        Assert.Equal(string.Empty, ev["EMPTY"]);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("{\"MESSAGE\":\"unterminated")]
    [InlineData("[1,2]")]
    [InlineData("{\"MESSAGE\":[1,999]}")]
    public void Bad_lines_are_rejected_without_leaving_bytes(string line)
    {
        using var encoder = new JournalEntryEncoder(new SystemdInputOptions(), TimeProvider.System);
        using var buffer = new PooledBufferWriter(64 * 1024);
        EncodeInto(encoder, buffer, Line);
        var good = buffer.WrittenCount;

        Assert.False(encoder.TryEncode(Encoding.UTF8.GetBytes(line), buffer, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Equal(good, buffer.WrittenCount);
        Assert.Single(MsgpackRecords.Decode(buffer.WrittenSpan.ToArray()));
    }

    [Fact]
    public void Steady_state_encoding_does_not_allocate_per_entry()
    {
        using var encoder = new JournalEntryEncoder(new SystemdInputOptions { StripUnderscores = true, Lowercase = true }, TimeProvider.System);
        using var buffer = new PooledBufferWriter(8 * 1024 * 1024);
        var line = Encoding.UTF8.GetBytes(Line);
        Assert.True(encoder.TryEncode(line, buffer, out _)); // warm up
        buffer.Reset();

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            encoder.TryEncode(line, buffer, out _);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(allocated < 10_000, $"allocated {allocated} bytes for 10000 entries");
        Assert.Equal(10_000, MsgpackRecords.Decode(buffer.WrittenSpan.ToArray()).Count);
    }

    private static void EncodeInto(JournalEntryEncoder encoder, PooledBufferWriter buffer, string line)
    {
        Assert.True(encoder.TryEncode(Encoding.UTF8.GetBytes(line), buffer, out var error), error);
    }

    private static (DecodedRecord Event, JournalEntryEncoder Encoder) EncodeOne(string line, SystemdInputOptions options)
    {
        var encoder = new JournalEntryEncoder(options, TimeProvider.System);
        using var buffer = new PooledBufferWriter(64 * 1024);
        EncodeInto(encoder, buffer, line);
        return (Assert.Single(MsgpackRecords.Decode(buffer.WrittenSpan.ToArray())), encoder);
    }

    private static string[] Keys(DecodedRecord ev)
    {
        var keys = new string[ev.Fields.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = ev.Fields[i].Key;
        }

        return keys;
    }
}
