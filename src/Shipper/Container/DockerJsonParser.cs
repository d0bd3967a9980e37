using System.Buffers;
using Gateway.Engine.Records;
using Gateway.Shipper.Inputs.Tail;
using MessagePack;

namespace Gateway.Shipper.Container;

/// <summary>
/// Fluent Bit's stock <c>docker</c> parser (conf/parsers.conf): <c>Format json</c>, <c>Time_Key time</c>,
/// <c>Time_Format %Y-%m-%dT%H:%M:%S.%L</c>, <c>Time_Keep On</c>. A json-file line
/// <c>{"log":"hi\n","stream":"stdout","time":"…Z"}</c> becomes the same map (log keeps its newline, time is kept)
/// with the event time taken from <c>time</c>.
/// </summary>
internal sealed class DockerJsonParser : ITailLineParser
{
    private static readonly byte[] TimeKey = "time"u8.ToArray();
    private readonly PooledBufferWriter _timeScratch = new(64);

    public string Name => "docker";

    public bool TryParse(ReadOnlySpan<byte> line, IBufferWriter<byte> record, out EventTime time, out bool hasTime)
    {
        time = default;
        hasTime = false;
        if (!JsonMsgpack.TryScanObject(line, out var members))
        {
            return false;
        }

        _timeScratch.Clear();
        if (JsonMsgpack.TryFindString(line, TimeKey, _timeScratch, out _, out _))
        {
            // An unparseable time keeps the record (with the read time), as Fluent Bit's json parser does.
            hasTime = ContainerTime.TryParse(_timeScratch.WrittenSpan, applyZone: false, out time);
        }

        var writer = new MessagePackWriter(record);
        writer.WriteMapHeader(members);
        JsonMsgpack.WriteMembers(line, ref writer);
        writer.Flush();
        return true;
    }
}

/// <summary>The parsers every shipper knows without a parsers file: Fluent Bit's <c>docker</c>.</summary>
public sealed class BuiltInTailParsers : ITailParserResolver
{
    private readonly ITailParserResolver? _next;

    /// <param name="next">Parsers from the configuration, consulted first (a config may redefine <c>docker</c>).</param>
    public BuiltInTailParsers(ITailParserResolver? next = null)
    {
        _next = next;
    }

    public ITailLineParser? Find(string name)
    {
        var configured = _next?.Find(name);
        if (configured is not null)
        {
            return configured;
        }

        return string.Equals(name, "docker", StringComparison.OrdinalIgnoreCase) ? new DockerJsonParser() : null;
    }
}
