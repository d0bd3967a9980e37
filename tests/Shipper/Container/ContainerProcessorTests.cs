using System.Text;
using Gateway.Engine.Records;
using Gateway.Shipper.Container;
using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Tests.Support;

namespace Gateway.Shipper.Tests.Container;

/// <summary>Line processors on their own: what records a sequence of lines turns into, and when.</summary>
public sealed class ContainerProcessorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    private static List<DecodedEvent> Run(TailLineProcessor processor, IEnumerable<string> lines, Func<TailEventBuffer, bool>? afterEach = null, string? pathKey = null, string? offsetKey = null)
    {
        using var buffer = new TailEventBuffer("/var/log/x.log", pathKey, offsetKey);
        long offset = 0;
        foreach (var line in lines)
        {
            var bytes = Encoding.UTF8.GetBytes(line);
            processor.ProcessLine(bytes, offset, buffer, Now);
            offset += bytes.Length + 1;
            afterEach?.Invoke(buffer);
        }

        var count = buffer.EventCount;
        return Msgpack.Decode(new EventChunk("t", buffer.TakeEvents(out _), count));
    }

    [Fact]
    public void DockerMultiline_JoinsSixteenKilobyteSplits_KeepingFirstLineFieldsAndTime()
    {
        using var ml = new ContainerMultilineProcessor([ContainerMultilineParser.Docker, ContainerMultilineParser.Cri]);
        var events = Run(ml,
        [
            """{"log":"one, ","stream":"stdout","time":"2021-02-01T01:40:03.53413Z"}""",
            """{"log":"two, ","stream":"stdout","time":"2021-02-01T01:40:03.53414Z"}""",
            """{"log":"three\n","stream":"stdout","time":"2021-02-01T01:40:03.53415Z"}""",
            """{"log":"single\n","stream":"stdout","time":"2021-02-01T01:40:04Z"}""",
        ]);

        Assert.Equal(
            [
                """{"log":"one, two, three\n","stream":"stdout","time":"2021-02-01T01:40:03.53413Z"}""",
                """{"log":"single\n","stream":"stdout","time":"2021-02-01T01:40:04Z"}""",
            ],
            events.Select(e => e.Json));
        Assert.Equal(new EventTime(1612143603, 534130000), events[0].Time);
    }

    [Fact]
    public void Multiline_StreamChange_FlushesThePendingGroupFirst()
    {
        using var ml = new ContainerMultilineProcessor([ContainerMultilineParser.Docker, ContainerMultilineParser.Cri]);
        var events = Run(ml,
        [
            "2026-01-01T00:00:00.1Z stdout P out-a ",
            "2026-01-01T00:00:00.2Z stderr F err-complete",
            "2026-01-01T00:00:00.3Z stdout F out-b",
        ]);

        Assert.Equal(
            [
                """{"time":"2026-01-01T00:00:00.1Z","stream":"stdout","_p":"P","log":"out-a "}""",
                """{"time":"2026-01-01T00:00:00.2Z","stream":"stderr","_p":"F","log":"err-complete"}""",
                """{"time":"2026-01-01T00:00:00.3Z","stream":"stdout","_p":"F","log":"out-b"}""",
            ],
            events.Select(e => e.Json));
    }

    [Fact]
    public void Multiline_FormatIsDetectedPerLine_AndUnknownLinesBecomeLogRecords()
    {
        using var ml = new ContainerMultilineProcessor([ContainerMultilineParser.Docker, ContainerMultilineParser.Cri]);
        var events = Run(ml,
        [
            """{"log":"docker\n","stream":"stdout","time":"2021-02-01T01:40:03Z"}""",
            "2026-01-01T00:00:00+02:00 stdout F cri with offset zone",
            "neither format",
        ]);

        Assert.Equal(
            [
                """{"log":"docker\n","stream":"stdout","time":"2021-02-01T01:40:03Z"}""",
                """{"time":"2026-01-01T00:00:00+02:00","stream":"stdout","_p":"F","log":"cri with offset zone"}""",
                """{"log":"neither format"}""",
            ],
            events.Select(e => e.Json));
        Assert.Equal(new EventTime(1767218400, 0), events[1].Time); // 2025-12-31T22:00:00Z
        Assert.Equal(EventTime.FromDateTimeOffset(Now), events[2].Time);
    }

    [Fact]
    public void Multiline_IncompleteGroup_IsFlushedAfterTheTimeout_NotBefore()
    {
        using var ml = new ContainerMultilineProcessor([ContainerMultilineParser.Cri], TimeSpan.FromSeconds(4));
        using var buffer = new TailEventBuffer("/x", null, null);
        ml.ProcessLine("2026-01-01T00:00:00Z stdout P never finished"u8, 100, buffer, Now);
        Assert.Equal(100, ml.PendingStartOffset);

        ml.Flush(buffer, force: false, Now.AddSeconds(3.9));
        Assert.Equal(0, buffer.EventCount);

        ml.Flush(buffer, force: false, Now.AddSeconds(4));
        Assert.Equal(1, buffer.EventCount);
        Assert.Null(ml.PendingStartOffset);
    }

    [Fact]
    public void Multiline_PathAndOffsetKeys_AreAppendedAfterTheFields()
    {
        using var ml = new ContainerMultilineProcessor([ContainerMultilineParser.Cri]);
        var events = Run(ml, ["2026-01-01T00:00:00Z stdout F hi"], pathKey: "path", offsetKey: "offset");
        Assert.Equal("""{"time":"2026-01-01T00:00:00Z","stream":"stdout","_p":"F","log":"hi","path":"/var/log/x.log","offset":0}""", Assert.Single(events).Json);
    }

    [Fact]
    public void CriLine_TimeIsTheShortestPrefixBeforeStreamAndTag()
    {
        Assert.True(CriLine.TryParse("t1 stdout F log says stderr P x"u8, out var cri));
        Assert.Equal("t1", Encoding.UTF8.GetString(cri.Time));
        Assert.Equal("log says stderr P x", Encoding.UTF8.GetString(cri.Log));
        Assert.True(CriLine.TryParse("t stderr P "u8, out var empty));
        Assert.True(empty.Partial);
        Assert.Equal(0, empty.Log.Length);
        Assert.False(CriLine.TryParse("t stdout X y"u8, out _));
        Assert.False(CriLine.TryParse("t stdout F"u8, out _));
    }

    [Fact]
    public void PlainProcessor_WithoutParser_UsesKey_AndParserMissesKeepTheRawLine()
    {
        using var plain = new PlainLineProcessor("message", null);
        Assert.Equal("""{"message":"hello"}""", Assert.Single(Run(plain, ["hello"])).Json);

        using var docker = new PlainLineProcessor("log", new DockerJsonParser());
        var events = Run(docker, ["""{"log":"a\n","n":1,"f":1.5,"b":true,"z":null,"o":{"k":[1,"x"]},"time":"2020-01-01T00:00:00.5Z"}""", "not json"], pathKey: "path", offsetKey: "off");
        Assert.Equal(
            [
                """{"log":"a\n","n":1,"f":1.5,"b":true,"z":null,"o":{"k":[1,"x"]},"time":"2020-01-01T00:00:00.5Z","path":"/var/log/x.log","off":0}""",
                """{"path":"/var/log/x.log","off":96,"log":"not json"}""",
            ],
            events.Select(e => e.Json));
        Assert.Equal(new EventTime(1577836800, 500000000), events[0].Time);
    }

    [Fact]
    public void DockerMode_JoinsSplitLines_ThenAppliesTheParserToTheRebuiltLine()
    {
        using var mode = new DockerModeProcessor(new PlainLineProcessor("log", new DockerJsonParser()), TimeSpan.FromSeconds(4));
        var events = Run(mode,
        [
            """{"log":"part \"1\" ","stream":"stdout","time":"2020-01-01T00:00:01Z"}""",
            """{"log":"part 2\n","stream":"stdout","time":"2020-01-01T00:00:02Z"}""",
            """{"log":"alone\n","stream":"stdout","time":"2020-01-01T00:00:03Z"}""",
        ]);

        Assert.Equal(
            [
                """{"log":"part \"1\" part 2\n","stream":"stdout","time":"2020-01-01T00:00:02Z"}""",
                """{"log":"alone\n","stream":"stdout","time":"2020-01-01T00:00:03Z"}""",
            ],
            events.Select(e => e.Json));
    }

    [Fact]
    public void DockerMode_HeldLine_IsFlushedOnTimeoutOrBeforeANonJsonLine()
    {
        using var mode = new DockerModeProcessor(new PlainLineProcessor("log", new DockerJsonParser()), TimeSpan.FromSeconds(5));
        using var buffer = new TailEventBuffer("/x", null, null);
        mode.ProcessLine("""{"log":"held ","stream":"stdout","time":"2020-01-01T00:00:01Z"}"""u8, 0, buffer, Now);
        mode.Flush(buffer, force: false, Now.AddSeconds(4));
        Assert.Equal(0, buffer.EventCount);
        Assert.Equal(0, mode.PendingStartOffset);

        mode.ProcessLine("plain"u8, 70, buffer, Now.AddSeconds(4));
        var events = Msgpack.Decode(new EventChunk("t", buffer.TakeEvents(out _), 2));
        Assert.Equal(["""{"log":"held ","stream":"stdout","time":"2020-01-01T00:00:01Z"}""", """{"log":"plain"}"""], events.Select(e => e.Json));
        Assert.Null(mode.PendingStartOffset);
    }

    [Theory]
    [InlineData("2019-12-19T17:41:12.70630778Z", true, 1576777272u, 706307780u)]
    [InlineData("2019-12-19T17:41:12Z", true, 1576777272u, 0u)]
    [InlineData("2019-12-19T17:41:12.123456789123Z", true, 1576777272u, 123456789u)]
    [InlineData("2019-12-19T19:41:12.5+0200", true, 1576777272u, 500000000u)]
    [InlineData("2019-12-19T17:41:12.5+02:00", false, 1576777272u, 500000000u)]
    public void ContainerTime_ParsesRfc3339AsFluentBitsFormats(string text, bool applyZone, uint seconds, uint nanos)
    {
        Assert.True(ContainerTime.TryParse(Encoding.UTF8.GetBytes(text), applyZone, out var time));
        Assert.Equal(new EventTime(seconds, nanos), time);
    }

    [Theory]
    [InlineData("2019-13-19T17:41:12Z")]
    [InlineData("2019-12-19 17:41:12Z")]
    [InlineData("not a time")]
    [InlineData("2019-12-19T17:41:12")]
    public void ContainerTime_RejectsMalformedCriTimes(string text) =>
        Assert.False(ContainerTime.TryParse(Encoding.UTF8.GetBytes(text), applyZone: true, out _));
}
