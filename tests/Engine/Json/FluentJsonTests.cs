using System.Buffers;
using System.Text;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using MessagePack;

namespace Gateway.Engine.Tests.Json;

public sealed class FluentJsonTests
{
    private delegate void Build(ref MessagePackWriter writer);

    private static byte[] Pack(Build build)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        build(ref writer);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The JSON of a value, written both ways the writer has: two passes per map into a plain buffer writer, and one
    /// pass with a rewind on repeated keys into a rewindable one. Every test checks that they agree.
    /// </summary>
    private static string Json(byte[] msgpack, FluentJsonFlags flags = FluentJsonFlags.None)
    {
        var output = new ArrayBufferWriter<byte>();
        var used = FluentJson.WriteValue(msgpack, output, flags);
        Assert.Equal(msgpack.Length, used);
        using var rewindable = new PooledBufferWriter(16);
        rewindable.Write("prefix"u8);
        Assert.Equal(msgpack.Length, FluentJson.WriteValue(msgpack, rewindable, flags));
        Assert.Equal(Encoding.UTF8.GetString(output.WrittenSpan), Encoding.UTF8.GetString(rewindable.WrittenSpan[6..]));
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Fact]
    public void Repeated_keys_at_any_depth_give_the_same_json_in_one_pass_with_rewinds_as_in_two()
    {
        // Random maps nested up to four deep, keys from a small alphabet so some repeat at every level.
        var random = new Random(20261126);
        for (var round = 0; round < 500; round++)
        {
            var bytes = Pack((ref MessagePackWriter w) => WriteRandomMap(ref w, random, 0));
            Json(bytes); // asserts both ways agree
        }

        static void WriteRandomMap(ref MessagePackWriter w, Random random, int depth)
        {
            var count = random.Next(0, 7);
            w.WriteMapHeader(count);
            for (var i = 0; i < count; i++)
            {
                if (random.Next(10) == 0)
                {
                    w.Write(random.Next(3)); // a non-string key
                }
                else
                {
                    w.Write("k" + random.Next(4));
                }

                var kind = depth < 4 ? random.Next(4) : random.Next(2);
                switch (kind)
                {
                    case 0:
                        w.Write(random.Next(100));
                        break;
                    case 1:
                        w.Write("v\"" + random.Next(100));
                        break;
                    case 2:
                        WriteRandomMap(ref w, random, depth + 1);
                        break;
                    default:
                        w.WriteArrayHeader(2);
                        WriteRandomMap(ref w, random, depth + 1);
                        w.Write(true);
                        break;
                }
            }
        }
    }

    private static string StringJson(byte[] utf8, FluentJsonFlags flags = FluentJsonFlags.None)
    {
        var output = new ArrayBufferWriter<byte>();
        FluentJson.WriteString(utf8, output, flags);
        return Encoding.UTF8.GetString(output.WrittenSpan);
    }

    [Fact]
    public void Record_with_every_scalar_kind_is_compact_json()
    {
        var bytes = Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(8);
            w.Write("s");
            w.Write("v");
            w.Write("i");
            w.Write(42);
            w.Write("neg");
            w.Write(-7);
            w.Write("big");
            w.Write(ulong.MaxValue);
            w.Write("t");
            w.Write(true);
            w.Write("f");
            w.Write(false);
            w.Write("n");
            w.WriteNil();
            w.Write("nested");
            w.WriteArrayHeader(3);
            w.Write(1);
            w.WriteMapHeader(1);
            w.Write("a");
            w.WriteArrayHeader(0);
            w.WriteMapHeader(0);
        });

        Assert.Equal(
            "{\"s\":\"v\",\"i\":42,\"neg\":-7,\"big\":18446744073709551615,\"t\":true,\"f\":false,\"n\":null,\"nested\":[1,{\"a\":[]},{}]}",
            Json(bytes));
    }

    [Fact]
    public void Printer_writes_every_scalar_kind_as_msgpack_c_does()
    {
        var bytes = Pack((ref MessagePackWriter w) =>
        {
            w.WriteArrayHeader(6);
            w.Write(42);
            w.Write(-7);
            w.Write(ulong.MaxValue);
            w.Write(true);
            w.Write(false);
            w.WriteNil();
        });
        var output = new ArrayBufferWriter<byte>();

        Assert.Equal(bytes.Length, MsgpackTextPrinter.Print(bytes, output));
        Assert.Equal("[42, -7, 18446744073709551615, true, false, nil]", Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Both_writers_take_nesting_up_to_the_limit_and_refuse_one_level_more_at_its_offset()
    {
        // MaxDepth one-element arrays around a nil: the nil sits at depth MaxDepth, the deepest allowed.
        var atLimit = new byte[FluentJson.MaxDepth + 1];
        atLimit.AsSpan(0, FluentJson.MaxDepth).Fill(0x91);
        atLimit[^1] = 0xc0;
        var tooDeep = new byte[FluentJson.MaxDepth + 2];
        tooDeep.AsSpan(0, FluentJson.MaxDepth + 1).Fill(0x91);
        tooDeep[^1] = 0xc0;

        Assert.Equal(atLimit.Length, FluentJson.WriteValue(atLimit, new ArrayBufferWriter<byte>()));
        Assert.Equal(atLimit.Length, MsgpackTextPrinter.Print(atLimit, new ArrayBufferWriter<byte>()));
        var json = Assert.Throws<MsgpackFormatException>(() => FluentJson.WriteValue(tooDeep, new ArrayBufferWriter<byte>()));
        var printed = Assert.Throws<MsgpackFormatException>(() => MsgpackTextPrinter.Print(tooDeep, new ArrayBufferWriter<byte>()));
        Assert.Equal(FluentJson.MaxDepth + 1, json.Offset);
        Assert.Equal(FluentJson.MaxDepth + 1, printed.Offset);
        Assert.Contains("nesting deeper than 500", json.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1.5, "1.5")]
    [InlineData(1.0, "1.0")]
    [InlineData(0.0, "0.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(-3.0, "-3.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0 / 3.0, "0.3333333333333333")]
    [InlineData(123456.789, "123456.789")]
    [InlineData(1e20, "1e+20")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001234, "1.234e-05")]
    [InlineData(1700000000.123456, "1700000000.123456")]
    [InlineData(-2.5e300, "-2.5e+300")]
    [InlineData(double.PositiveInfinity, "inf")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void Doubles_print_like_fluent_bit(double value, string expected)
    {
        Assert.Equal(expected, Json(Pack((ref MessagePackWriter w) => w.Write(value))));
    }

    [Fact]
    public void Float32_is_widened_before_printing()
    {
        Assert.Equal("1.100000023841858", Json(Pack((ref MessagePackWriter w) => w.Write(1.1f))));
    }

    [Fact]
    public void NaN_prints_nan_or_null_when_configured()
    {
        var nan = Pack((ref MessagePackWriter w) => w.Write(Math.Abs(double.NaN)));
        Assert.Equal("nan", Json(nan));
        Assert.Equal("null", Json(nan, FluentJsonFlags.NanAsNull));
    }

    [Fact]
    public void Ascii_escapes_follow_flb_utils_write_str()
    {
        var input = "q\"b\\n\nr\rt\tb\bf\f\u0001\u001f\u007f/"u8.ToArray();
        Assert.Equal("\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\\u007f/\"", StringJson(input));
    }

    [Fact]
    public void Long_plain_runs_around_escapes_are_copied_intact()
    {
        var plain = new string('a', 70) + "~{}[]";
        var input = Encoding.UTF8.GetBytes(plain + "\"" + plain + "\n" + plain);
        Assert.Equal("\"" + plain + "\\\"" + plain + "\\n" + plain + "\"", StringJson(input));
    }

    [Fact]
    public void Non_ascii_is_escaped_as_lowercase_u_escapes_with_surrogate_pairs()
    {
        var input = Encoding.UTF8.GetBytes("é€😀");
        Assert.Equal("\"\\u00e9\\u20ac\\ud83d\\ude00\"", StringJson(input));
    }

    [Fact]
    public void Raw_unicode_mode_copies_valid_utf8_and_replaces_invalid_bytes()
    {
        var input = new byte[] { (byte)'a', 0xc3, 0xa9, 0xff, (byte)'b', 0xe2, 0x82 };
        Assert.Equal("\"aé\uFFFDb\uFFFD\uFFFD\"", StringJson(input, FluentJsonFlags.RawUnicode));
    }

    [Fact]
    public void Invalid_utf8_bytes_map_to_private_use_characters_when_escaping()
    {
        // 0xff is an invalid lead byte (announcing 6 bytes): with enough bytes after it, it becomes U+E0FF.
        Assert.Equal("\"a\uE0FFbcdefg\"", StringJson([(byte)'a', 0xff, .. "bcdefg"u8]));

        // Near the end of the string the same byte counts as a truncated sequence and is dropped, as in Fluent Bit.
        Assert.Equal("\"ab\"", StringJson([(byte)'a', 0xff, (byte)'b']));

        // 0xc3 followed by a non-continuation: the valid prefix (C3) is mapped, then 'x' is kept.
        Assert.Equal("\"\uE0C3x\"", StringJson([0xc3, (byte)'x']));
    }

    [Fact]
    public void Truncated_utf8_at_the_end_drops_the_lead_byte_like_fluent_bit()
    {
        Assert.Equal("\"a\"", StringJson([(byte)'a', 0xe2]));
    }

    [Fact]
    public void Binary_is_written_as_an_escaped_string()
    {
        var bytes = Pack((ref MessagePackWriter w) => w.Write(new byte[] { (byte)'h', (byte)'"', 0x01 }));
        Assert.Equal("\"h\\\"\\u0001\"", Json(bytes));
    }

    [Fact]
    public void Extension_is_written_as_hex_of_signed_chars()
    {
        var bytes = Pack((ref MessagePackWriter w) =>
        {
            w.WriteExtensionFormatHeader(new ExtensionHeader(0, 4));
            w.WriteRaw(new byte[] { 0x65, 0x00, 0x80, 0xff });
        });
        Assert.Equal("\"\\x65\\x00\\xffffff80\\xffffffff\"", Json(bytes));
    }

    [Fact]
    public void Repeated_string_keys_keep_only_the_last_occurrence_at_its_position()
    {
        var bytes = Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(4);
            w.Write("a");
            w.Write(1);
            w.Write("b");
            w.Write(2);
            w.Write("a");
            w.Write(3);
            w.Write("c");
            w.Write(4);
        });
        Assert.Equal("{\"b\":2,\"a\":3,\"c\":4}", Json(bytes));
    }

    [Fact]
    public void Non_string_keys_are_written_as_their_values()
    {
        var bytes = Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(3);
            w.Write(1);
            w.Write("one");
            w.WriteNil();
            w.Write(true);
            w.WriteArrayHeader(1);
            w.Write(2);
            w.Write(3);
        });
        Assert.Equal("{1:\"one\",null:true,[2]:3}", Json(bytes));
    }

    [Fact]
    public void Large_map_with_a_repeated_key_uses_the_pooled_key_table()
    {
        var bytes = Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(100);
            for (var i = 0; i < 99; i++)
            {
                w.Write("k" + i);
                w.Write(i);
            }

            w.Write("k5");
            w.Write("last");
        });
        var json = Json(bytes);
        Assert.DoesNotContain("\"k5\":5", json);
        Assert.EndsWith(",\"k98\":98,\"k5\":\"last\"}", json);
        Assert.StartsWith("{\"k0\":0,\"k1\":1,\"k2\":2,\"k3\":3,\"k4\":4,\"k6\":6", json);
    }

    [Fact]
    public void Truncated_input_names_the_offset()
    {
        var bytes = Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(1);
            w.Write("key");
            w.Write("value");
        });
        var ex = Assert.Throws<MsgpackFormatException>(() => Json(bytes[..^2]));
        Assert.Contains("truncated", ex.Message);
        Assert.Equal(5, ex.Offset);
    }

    [Fact]
    public void Reserved_byte_is_a_format_error()
    {
        var ex = Assert.Throws<MsgpackFormatException>(() => Json([0x91, 0xc1]));
        Assert.Equal(1, ex.Offset);
        Assert.Contains("0xc1", ex.Message);
    }

    [Fact]
    public void Hostile_nesting_is_a_format_error_not_a_stack_overflow()
    {
        var bytes = new byte[100_000];
        bytes.AsSpan().Fill(0x91);
        Assert.Throws<MsgpackFormatException>(() => Json(bytes));
    }

    [Fact]
    public void Array_header_claiming_more_elements_than_bytes_fails_fast()
    {
        var ex = Assert.Throws<MsgpackFormatException>(() => Json([0xdd, 0x00, 0x00, 0xff, 0xff, 0x01]));
        Assert.Contains("array of", ex.Message);
    }

    [Fact]
    public void Fuzzed_input_only_ever_throws_msgpack_format_exceptions()
    {
        var random = new Random(1234);
        var seed = Pack((ref MessagePackWriter w) =>
        {
            w.WriteMapHeader(4);
            w.Write("log");
            w.Write("hello \"world\" é😀");
            w.Write("n");
            w.Write(-12345678901L);
            w.Write("d");
            w.Write(3.25);
            w.Write("a");
            w.WriteArrayHeader(2);
            w.Write(new byte[] { 1, 2, 3 });
            w.WriteMapHeader(1);
            w.Write(7);
            w.WriteNil();
        });

        var output = new ArrayBufferWriter<byte>();
        for (var round = 0; round < 20_000; round++)
        {
            byte[] input;
            if (round % 2 == 0)
            {
                input = (byte[])seed.Clone();
                var flips = random.Next(1, 4);
                for (var f = 0; f < flips; f++)
                {
                    input[random.Next(input.Length)] = (byte)random.Next(256);
                }

                if (random.Next(4) == 0)
                {
                    input = input[..random.Next(input.Length)];
                }
            }
            else
            {
                input = new byte[random.Next(0, 64)];
                random.NextBytes(input);
            }

            output.Clear();
            try
            {
                FluentJson.WriteValue(input, output, round % 3 == 0 ? FluentJsonFlags.RawUnicode : FluentJsonFlags.None);
                MsgpackTextPrinter.Print(input, output);
            }
            catch (MsgpackFormatException)
            {
                // The only acceptable failure.
            }
        }
    }
}
