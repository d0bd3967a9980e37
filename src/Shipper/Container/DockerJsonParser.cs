using System.Buffers;
using Gateway.Engine.Buffers;
using Gateway.Engine.Parsers;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Shipper.Container;

/// <summary>
/// Fluent Bit's stock <c>docker</c> parser (conf/parsers.conf): <c>Format json</c>, <c>Time_Key time</c>,
/// <c>Time_Format %Y-%m-%dT%H:%M:%S.%L</c>, <c>Time_Keep On</c>. A json-file line
/// <c>{"log":"hi\n","stream":"stdout","time":"…Z"}</c> becomes the same map (log keeps its newline, time is kept)
/// with the event time taken from <c>time</c>. Used when the configuration's parsers files do not define
/// <c>docker</c> (Fluent Bit images ship it in their default parsers.conf).
/// </summary>
internal sealed class DockerJsonParser : IRecordParser
{
    private static readonly byte[] TimeKey = "time"u8.ToArray();

    [ThreadStatic]
    private static PooledBufferWriter? t_timeScratch;

    public string Name => "docker";

    public ParserFormat Format => ParserFormat.Json;

    public bool TryParse(ReadOnlySpan<byte> input, IBufferWriter<byte> recordMsgpack, out EventTime? time)
    {
        time = null;
        if (!JsonMsgpack.TryScanObject(input, out var members))
        {
            return false;
        }

        var timeScratch = t_timeScratch ??= new PooledBufferWriter(64);
        timeScratch.Reset();
        if (JsonMsgpack.TryFindString(input, TimeKey, timeScratch, out _, out _)
            && ContainerTime.TryParse(timeScratch.WrittenSpan, applyZone: false, out var parsed))
        {
            // An unparseable time keeps the record (with the read time), as Fluent Bit's json parser does.
            time = parsed;
        }

        var writer = new MessagePackWriter(recordMsgpack);
        writer.WriteMapHeader(members);
        JsonMsgpack.WriteMembers(input, ref writer);
        writer.Flush();
        return true;
    }
}

/// <summary>Finds the parser a tail's <c>Parser</c> names: the configuration's first, then the built-in <c>docker</c>.</summary>
internal static class TailParsers
{
    /// <summary>Names are case-sensitive, as Fluent Bit's flb_parser_get.</summary>
    public static IRecordParser? Find(ParserRegistry? configured, string name) =>
        configured?.Find(name) ?? (string.Equals(name, "docker", StringComparison.Ordinal) ? new DockerJsonParser() : null);
}
