using System.Buffers;
using System.Text;
using Gateway.Engine.Parsers;

namespace Gateway.Engine.Tests.Parsers;

/// <summary>Random and mutated lines never make a parser throw, and every accepted line yields one valid msgpack map.</summary>
public sealed class ParserFuzzTests
{
    private static readonly string[] Sections =
    [
        "[PARSER]\n    Name j\n    Format json\n    Time_Key time\n    Time_Format %Y-%m-%dT%H:%M:%S.%L%z\n    Time_Keep On\n    Decode_Field_As json log\n    Decode_Field json extra\n",
        "[PARSER]\n    Name s\n    Format regex\n    Regex ^(?<time>[^ ]* {1,2}[^ ]* [^ ]*) (?<host>[^ ]*) (?<ident>[a-zA-Z0-9_\\/\\.\\-]*)(?:\\[(?<pid>[0-9]+)\\])?(?:[^\\:]*\\:)? *(?<message>.*)$\n    Time_Key time\n    Time_Format %b %d %H:%M:%S\n    Types pid:integer\n    Decode_Field_As escaped_utf8 message\n",
        "[PARSER]\n    Name l\n    Format logfmt\n    Time_Key ts\n    Time_Format %s\n    Time_Strict Off\n    Types n:integer f:float b:bool h:hex\n    Decode_Field_As escaped msg\n",
        "[PARSER]\n    Name t\n    Format ltsv\n    Time_Format %d/%b/%Y:%H:%M:%S %z\n    Types status:integer\n",
    ];

    private static readonly string[] Fragments =
    [
        "{", "}", "[", "]", "\"", "\\", "\\u", "\\u00e9", "\\\"", ":", ",", "=", "\t", " ", "\n", "\r", "log", "time", "extra",
        "ts", "n", "f", "b", "h", "msg", "status", "1", "-2.5e3", "true", "null", "0x1f", "2026-11-24T08:19:54.123+09:00",
        "Nov 24 08:19:53", "host", "sshd[42]:", "é", "\u3053", "\0", "{\"a\":{\"b\":[1,{\"c\":\"d\"}]}}", "1577521193",
    ];

    [Fact]
    public void Random_input_never_throws_and_accepted_records_are_valid_msgpack()
    {
        var parsers = Sections.Select(s => RecordParserTests.Build(s)).ToArray();
        var random = new Random(4242);
        var output = new ArrayBufferWriter<byte>();
        var accepted = 0;
        for (var iteration = 0; iteration < 4000; iteration++)
        {
            var line = iteration % 2 == 0 ? RandomBytes(random) : Encoding.UTF8.GetBytes(RandomFragments(random));
            foreach (var parser in parsers)
            {
                output.Clear();
                if (parser.TryParse(line, output, out _))
                {
                    accepted++;
                    Assert.StartsWith("{", MsgpackText.ToText(output.WrittenMemory), StringComparison.Ordinal);
                }
                else
                {
                    Assert.Equal(0, output.WrittenCount);
                }
            }
        }

        Assert.True(accepted > 100, $"only {accepted} lines were accepted; the fuzz input is not reaching the parsers' logic");
    }

    [Fact]
    public void Truncations_of_real_lines_never_throw()
    {
        var parsers = Sections.Select(s => RecordParserTests.Build(s)).ToArray();
        var output = new ArrayBufferWriter<byte>();
        string[] lines =
        [
            """{"log":"{\"name\": \"fakenerd\", \"time_ms\": 1577521193704}\n","stream":"stdout","time":"2019-12-28T08:19:53.704659587Z"}""",
            "Nov 24 08:19:53 ip-10-1-128-166 kubelet[3161]: I1124 08:19:53.704659    3161 kubelet.go:2140]",
            "ts=1577521193 n=12 f=1.5 b=true h=ff msg=\"a\\tb\"",
            "time:28/Dec/2019:08:19:53 +0000\tstatus:200\thost:x",
        ];
        foreach (var line in lines.Select(Encoding.UTF8.GetBytes))
        {
            for (var length = 0; length <= line.Length; length++)
            {
                foreach (var parser in parsers)
                {
                    output.Clear();
                    parser.TryParse(line.AsSpan(0, length), output, out _);
                }
            }
        }
    }

    [Fact]
    public void Parsers_can_be_shared_across_threads()
    {
        var parser = RecordParserTests.Build(Sections[0]);
        var line = Encoding.UTF8.GetBytes("""{"log":"{\"k\":\"v\"}","time":"2026-11-24T08:19:54.5+00:00","n":1}""");
        var expected = RecordParserTests.Run(parser, line).Record;

        Parallel.For(0, 8, _ =>
        {
            for (var i = 0; i < 500; i++)
            {
                Assert.Equal(expected, RecordParserTests.Run(parser, line).Record);
            }
        });
    }

    private static byte[] RandomBytes(Random random)
    {
        var bytes = new byte[random.Next(0, 120)];
        random.NextBytes(bytes);
        return bytes;
    }

    private static string RandomFragments(Random random)
    {
        var builder = new StringBuilder();
        var count = random.Next(0, 40);
        for (var i = 0; i < count; i++)
        {
            builder.Append(Fragments[random.Next(Fragments.Length)]);
        }

        return builder.ToString();
    }
}

/// <summary>The byte-oriented formats do not allocate per record once their buffers are warm.</summary>
public sealed class ParserAllocationTests
{
    [Theory]
    [InlineData("[PARSER]\n    Name j\n    Format json\n    Time_Format %Y-%m-%dT%H:%M:%S.%L%z\n    Decode_Field_As json log\n", "{\"log\":\"{\\\"level\\\":\\\"info\\\",\\\"n\\\":[1,2]}\",\"stream\":\"stdout\",\"time\":\"2026-11-24T08:19:54.123Z\"}")]
    [InlineData("[PARSER]\n    Name l\n    Format logfmt\n    Time_Key ts\n    Time_Format %s\n    Types n:integer\n", "ts=1577521193 level=info msg=\"quoted \\\"x\\\"\" n=5 bare")]
    [InlineData("[PARSER]\n    Name t\n    Format ltsv\n    Time_Format %d/%b/%Y:%H:%M:%S %z\n", "time:28/Dec/2019:08:19:53 +0000\tstatus:200\thost:x")]
    public void Steady_state_parsing_allocates_nothing(string section, string line)
    {
        var parser = RecordParserTests.Build(section);
        var input = System.Text.Encoding.UTF8.GetBytes(line);
        var output = new ArrayBufferWriter<byte>(4096);
        for (var i = 0; i < 100; i++)
        {
            output.Clear();
            Assert.True(parser.TryParse(input, output, out _));
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            output.Clear();
            parser.TryParse(input, output, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
