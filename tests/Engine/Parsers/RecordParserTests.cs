using System.Buffers;
using System.Text;
using Gateway.Engine.Config;
using Gateway.Engine.Parsers;
using Gateway.Engine.Records;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Engine.Tests.Parsers;

public sealed class RecordParserTests
{
    private static readonly FakeTimeProvider Clock = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));

    internal static IRecordParser Build(string parserSection, TimeProvider? clock = null)
    {
        var doc = ClassicConfigReader.Parse(parserSection, "/nonexistent/parsers.conf", new Dictionary<string, string?>());
        Assert.Empty(doc.Diagnostics);
        var registry = ParserRegistry.FromConfig(doc, clock ?? Clock);
        Assert.Empty(registry.Diagnostics);
        return Assert.Single(registry.Names.Select(n => registry.Find(n)!));
    }

    internal static (bool Ok, string Record, EventTime? Time) Run(IRecordParser parser, string line) =>
        Run(parser, Encoding.UTF8.GetBytes(line));

    internal static (bool Ok, string Record, EventTime? Time) Run(IRecordParser parser, byte[] line)
    {
        var output = new ArrayBufferWriter<byte>();
        var ok = parser.TryParse(line, output, out var time);
        if (!ok)
        {
            Assert.Equal(0, output.WrittenCount);
            Assert.Null(time);
            return (false, string.Empty, null);
        }

        return (true, MsgpackText.ToText(output.WrittenMemory), time);
    }

    private static EventTime At(string iso, uint nanos = 0) =>
        new((uint)DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds(), nanos);

    private static ParserRegistry SeedParsers(string deployment)
    {
        var doc = ClassicConfigReader.Load(Fixtures.SeedConfig(deployment, "parsers.conf"), new Dictionary<string, string?>());
        return ParserRegistry.FromConfig(doc, Clock);
    }

    [Fact]
    public void Seed_syslog_parser_reads_var_log_messages_with_the_current_year()
    {
        var syslog = SeedParsers("container-insights").Find("syslog")!;
        var lines = File.ReadAllLines(Fixtures.Path("node", "var", "log", "messages"));

        var results = lines.Select(line => Run(syslog, line)).ToList();

        Assert.All(results, r => Assert.True(r.Ok));
        Assert.Equal(
            """{"host":"ip-10-1-128-166","ident":"kubelet","pid":"3161","message":"I1124 08:19:53.704659    3161 kubelet.go:2140] \u0022SyncLoop (PLEG): event for pod\u0022"}""",
            results[0].Record);
        Assert.Equal(At("2026-11-24T08:19:53Z"), results[0].Time);
        Assert.Equal(
            """{"host":"ip-10-1-128-166","ident":"containerd","message":"time=\u00222026-11-24T08:19:54Z\u0022 level=info msg=\u0022StartContainer returns successfully\u0022"}""",
            results[1].Record);
        Assert.Equal(At("2026-11-24T08:19:54Z"), results[1].Time);
        Assert.Equal(
            """{"host":"ip-10-1-128-166","ident":"systemd","pid":"1","message":"Started Session 12 of user ec2-user."}""",
            results[2].Record);
        Assert.Equal(At("2026-11-04T08:19:55Z"), results[2].Time);
    }

    [Fact]
    public void Seed_syslog_parser_reads_var_log_secure()
    {
        var syslog = SeedParsers("container-insights").Find("syslog")!;
        var lines = File.ReadAllLines(Fixtures.Path("node", "var", "log", "secure"));

        var first = Run(syslog, lines[0]);
        var second = Run(syslog, lines[1]);

        Assert.Equal(
            """{"host":"ip-10-1-128-166","ident":"sshd","pid":"4410","message":"Accepted publickey for ec2-user from 10.1.0.5 port 52144 ssh2: RSA SHA256:abc"}""",
            first.Record);
        Assert.Equal(At("2026-11-24T08:20:01Z"), first.Time);
        Assert.Equal(
            """{"host":"ip-10-1-128-166","ident":"sshd","pid":"4410","message":"pam_unix(sshd:session): session opened for user ec2-user by (uid=0)"}""",
            second.Record);
    }

    [Fact]
    public void Year_less_times_take_the_year_of_the_clock()
    {
        var syslog = SeedParsers("container-insights").Find("syslog")!;
        var later = ParserRegistry.FromConfig(
            ClassicConfigReader.Load(Fixtures.SeedConfig("container-insights", "parsers.conf"), new Dictionary<string, string?>()),
            new FakeTimeProvider(new DateTimeOffset(2031, 2, 1, 0, 0, 0, TimeSpan.Zero))).Find("syslog")!;

        Assert.Equal(At("2026-11-24T08:20:01Z"), Run(syslog, "Nov 24 08:20:01 h a: b").Time);
        Assert.Equal(At("2031-11-24T08:20:01Z"), Run(later, "Nov 24 08:20:01 h a: b").Time);
    }

    [Fact]
    public void Firehose_docker_parser_decodes_the_log_field_as_json_and_keeps_the_time()
    {
        var docker = SeedParsers("firehose-lift").Find("docker")!;
        var lines = File.ReadAllLines(Directory.GetFiles(Fixtures.Path("node", "var", "log", "containers"), "python-app-*.log").Single());

        var first = Run(docker, lines[0]);
        var second = Run(docker, lines[1]);

        Assert.Equal(
            """{"log":{"name":"fakenerd","time_ms":1577521193704},"stream":"stdout","time":"2019-12-28T08:19:53.704659587Z"}""",
            first.Record);
        Assert.Equal(At("2019-12-28T08:19:53Z", 704_659_587), first.Time);
        Assert.Equal(
            """{"log":{"name":"fakenerd","time_ms":1577521194705},"stream":"stdout","time":"2019-12-28T08:19:54.705860842Z"}""",
            second.Record);
        Assert.Equal(At("2019-12-28T08:19:54Z", 705_860_842), second.Time);
    }

    [Fact]
    public void Docker_parser_without_time_keep_drops_the_time_key()
    {
        var docker = SeedParsers("per-app-routing").Find("docker")!;

        var result = Run(docker, """{"log":"hello\n","stream":"stderr","time":"2026-11-24T08:19:53.5Z"}""");

        Assert.Equal("""{"log":"hello\n","stream":"stderr"}""", result.Record);
        Assert.Equal(At("2026-11-24T08:19:53Z", 500_000_000), result.Time);
    }

    [Fact]
    public void Per_app_routing_registry_skips_the_broken_regex_with_a_located_error()
    {
        var registry = SeedParsers("per-app-routing");

        Assert.Equal(["docker", "container_firstline", "cwagent_firstline"], registry.Names);
        var error = Assert.Single(registry.Diagnostics);
        Assert.Equal(new ConfigLocation(Fixtures.SeedConfig("per-app-routing", "parsers.conf"), 10), error.Location);
        Assert.StartsWith("parser 'syslog-rfc5424': invalid Regex:", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_parser_keeps_value_types_order_and_nesting()
    {
        var parser = Build("[PARSER]\n    Name j\n    Format json\n");

        var result = Run(parser, """ {"a":1,"b":-2.5,"c":true,"d":null,"e":[1,"x",{"f":"g"}],"h":"esc\"aped\u00e9","big":18446744073709551615} """);

        Assert.Equal("""{"a":1,"b":-2.5,"c":true,"d":null,"e":[1,"x",{"f":"g"}],"h":"esc\u0022aped\u00E9","big":18446744073709551615}""", result.Record);
        Assert.Null(result.Time);
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("{\"a\":1} trailing")]
    [InlineData("{\"a\":1}{\"b\":2}")]
    [InlineData("{\"a\":")]
    [InlineData("")]
    [InlineData("plain log line")]
    public void Json_parser_rejects_anything_but_one_object(string line)
    {
        var parser = Build("[PARSER]\n    Name j\n    Format json\n");

        Assert.False(Run(parser, line).Ok);
    }

    [Fact]
    public void Json_time_that_does_not_parse_stays_in_the_record_without_a_time()
    {
        var parser = Build("[PARSER]\n    Name j\n    Format json\n    Time_Key ts\n    Time_Format %Y-%m-%d %H:%M:%S\n");

        var bad = Run(parser, """{"ts":"yesterday","m":"x"}""");
        var numeric = Run(parser, """{"ts":12345,"m":"x"}""");
        var good = Run(parser, """{"m":"x","ts":"2026-01-02 03:04:05"}""");

        Assert.Equal("""{"ts":"yesterday","m":"x"}""", bad.Record);
        Assert.Null(bad.Time);
        Assert.Equal("""{"ts":12345,"m":"x"}""", numeric.Record);
        Assert.Null(numeric.Time);
        Assert.Equal("""{"m":"x"}""", good.Record);
        Assert.Equal(At("2026-01-02T03:04:05Z"), good.Time);
    }

    [Fact]
    public void Time_offset_applies_to_zone_less_formats_only()
    {
        var local = Build("[PARSER]\n    Name j\n    Format json\n    Time_Format %Y-%m-%d %H:%M:%S\n    Time_Offset +0900\n");
        var zoned = Build("[PARSER]\n    Name j\n    Format json\n    Time_Format %Y-%m-%d %H:%M:%S %z\n    Time_Offset +0900\n");

        Assert.Equal(At("2026-01-01T18:00:00Z"), Run(local, """{"time":"2026-01-02 03:00:00"}""").Time);
        Assert.Equal(At("2026-01-02T04:00:00Z"), Run(zoned, """{"time":"2026-01-02 03:00:00 -0100"}""").Time);
    }

    [Fact]
    public void Time_strict_off_uses_the_part_that_matched()
    {
        const string Section = "[PARSER]\n    Name r\n    Format regex\n    Regex ^(?<time>\\S+) (?<msg>.*)$\n    Time_Format %Y-%m-%dT%H:%M:%S.%L\n";
        var strict = Build(Section);
        var lenient = Build(Section + "    Time_Strict Off\n");

        var strictResult = Run(strict, "2026-11-24T08:19:54Z hello");
        var lenientResult = Run(lenient, "2026-11-24T08:19:54Z hello");

        // Strict: the time does not parse, so (as in Fluent Bit's regex parser) the time field is dropped.
        Assert.Equal("""{"msg":"hello"}""", strictResult.Record);
        Assert.Null(strictResult.Time);
        Assert.Equal("""{"msg":"hello"}""", lenientResult.Record);
        Assert.Equal(At("2026-11-24T08:19:54Z"), lenientResult.Time);
    }

    [Fact]
    public void Regex_parser_applies_types_and_skips_empty_groups()
    {
        var parser = Build("""
            [PARSER]
                Name  r
                Format regex
                Regex ^(?<code>\d+) (?<ratio>[^ ]+) (?<ok>\w+) (?<mask>\h+) (?<opt>x?)(?<rest>.*)$
                Types code:integer ratio:float ok:bool mask:hex rest:string
            """);

        var result = Run(parser, "404 0.25 TRUE ff more");
        var notBool = Run(parser, "7 1e3 maybe 10 ");

        Assert.Equal("""{"code":404,"ratio":0.25,"ok":true,"mask":255,"rest":"more"}""", result.Record);
        Assert.Equal("""{"code":7,"ratio":1000,"ok":"maybe","mask":16}""", notBool.Record);
    }

    [Fact]
    public void Regex_parser_keeps_empty_groups_when_skip_empty_values_is_off()
    {
        var parser = Build("[PARSER]\n    Name r\n    Format regex\n    Regex ^(?<a>\\w*)-(?<b>\\w*)$\n    Skip_Empty_Values Off\n");

        Assert.Equal("""{"a":"","b":"x"}""", Run(parser, "-x").Record);
    }

    [Fact]
    public void Regex_parser_handles_non_ascii_lines_and_reports_non_matching_ones()
    {
        var parser = Build("[PARSER]\n    Name r\n    Format regex\n    Regex ^(?<who>\\S+) says (?<what>.+)$\n");

        Assert.Equal("""{"who":"J\u00FCrgen","what":"\u3053\u3093\u306B\u3061\u306F"}""", Run(parser, "Jürgen says こんにちは").Record);
        Assert.False(Run(parser, "nothing to see").Ok);
    }

    [Fact]
    public void Logfmt_parser_reads_quoted_bare_and_empty_values()
    {
        var parser = Build("[PARSER]\n    Name l\n    Format logfmt\n");

        var result = Run(parser, """level=info msg="hello \"world\" \u00e9" bare count=3 empty= q="" path=/a/b""");

        Assert.Equal("""{"level":"info","msg":"hello \u0022world\u0022 \u00E9","bare":true,"count":"3","empty":true,"q":"","path":"/a/b"}""", result.Record);
        Assert.False(Run(parser, "   ").Ok);
    }

    [Fact]
    public void Logfmt_parser_takes_the_time_and_types()
    {
        var parser = Build("[PARSER]\n    Name l\n    Format logfmt\n    Time_Key ts\n    Time_Format %Y-%m-%dT%H:%M:%SZ\n    Types n:integer\n");

        var result = Run(parser, "ts=2026-11-24T08:19:54Z n=42 level=warn");

        Assert.Equal("""{"n":42,"level":"warn"}""", result.Record);
        Assert.Equal(At("2026-11-24T08:19:54Z"), result.Time);
        Assert.False(Run(parser, "ts=garbage n=1").Ok);
    }

    [Fact]
    public void Logfmt_parser_can_refuse_bare_keys()
    {
        var parser = Build("[PARSER]\n    Name l\n    Format logfmt\n    Logfmt_No_Bare_Keys On\n");

        Assert.False(Run(parser, "a=1 bare").Ok);
        Assert.True(Run(parser, "a=1 b=2").Ok);
    }

    [Fact]
    public void Ltsv_parser_reads_labels_time_and_types()
    {
        var parser = Build("[PARSER]\n    Name l\n    Format ltsv\n    Time_Key time\n    Time_Format [%d/%b/%Y:%H:%M:%S %z]\n    Types status:integer size:integer\n");

        var result = Run(parser, "time:[05/Feb/2013:15:34:47 +0000]\thost:192.168.0.1\treq:GET /list HTTP/1.1\tstatus:200\tsize:2345\tempty:");

        Assert.Equal("""{"host":"192.168.0.1","req":"GET /list HTTP/1.1","status":200,"size":2345,"empty":""}""", result.Record);
        Assert.Equal(At("2013-02-05T15:34:47Z"), result.Time);
        Assert.False(Run(parser, "no label here").Ok);
    }

    [Fact]
    public void Decode_field_appends_decoded_keys_after_the_record()
    {
        var parser = Build("[PARSER]\n    Name r\n    Format regex\n    Regex ^(?<stream>\\w+) (?<log>.*)$\n    Decode_Field json log\n");

        Assert.Equal("""{"stream":"stdout","log":"{\u0022a\u0022:1,\u0022b\u0022:\u0022c\u0022}","a":1,"b":"c"}""", Run(parser, "stdout {\"a\":1,\"b\":\"c\"}").Record);
        Assert.Equal("""{"stream":"stdout","log":"not json"}""", Run(parser, "stdout not json").Record);
    }

    [Fact]
    public void Decode_field_as_escaped_and_chained_decoders()
    {
        var escaped = Build("[PARSER]\n    Name r\n    Format regex\n    Regex ^(?<log>.*)$\n    Decode_Field_As escaped log\n");
        var utf8 = Build("[PARSER]\n    Name r\n    Format regex\n    Regex ^(?<log>.*)$\n    Decode_Field_As escaped_utf8 log\n");
        var chained = Build("[PARSER]\n    Name r\n    Format regex\n    Regex ^(?<log>.*)$\n    Decode_Field_As escaped log do_next\n    Decode_Field_As json log\n");

        Assert.Equal("""{"log":"a\nb\u0022c"}""", Run(escaped, "a\\nb\\\"c").Record);
        Assert.Equal("""{"log":"caf\u00E9 \\\u0022q\\\u0022 \u263A"}""", Run(utf8, "caf\\u00e9 \\\"q\\\" \\u263a").Record);
        Assert.Equal("""{"log":{"k":"v"}}""", Run(chained, "{\\\"k\\\":\\\"v\\\"}").Record);
    }

    [Fact]
    public void Decode_json_accepts_escaped_json_text()
    {
        var parser = Build("[PARSER]\n    Name j\n    Format json\n    Decode_Field_As json log\n");

        var result = Run(parser, """{"log":"{\\\"level\\\":\\\"info\\\"}"}""");

        Assert.Equal("""{"log":{"level":"info"}}""", result.Record);
    }
}
