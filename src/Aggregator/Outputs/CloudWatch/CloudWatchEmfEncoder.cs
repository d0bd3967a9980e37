using System.Buffers;
using Gateway.Engine.Json;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// The metric inputs whose log records Fluent Bit's <c>out_cloudwatch_logs</c> turns into EMF documents
/// (cloudwatch_api.c, <c>process_log_events</c>): it looks at the name of the input plugin that produced the chunk,
/// <c>cpu</c> or <c>mem</c>, never at the record. Every other record — including anything that arrived through a
/// <c>forward</c> input, which is how every record reaches this aggregator — is sent as its JSON unchanged; with
/// <c>log_format json/emf</c> only the <c>x-amzn-logs-format</c> header tells CloudWatch to read EMF out of it.
/// </summary>
internal enum CloudWatchEmfSource
{
    /// <summary>Not a metric input: the record's JSON is the message.</summary>
    None,

    /// <summary>Fluent Bit's <c>cpu</c> input: <c>cpu_p</c>, <c>user_p</c>, <c>system_p</c> are metrics in Percent.</summary>
    Cpu,

    /// <summary>Fluent Bit's <c>mem</c> input: <c>Mem.total/used/free</c>, <c>Swap.total/used/free</c> in Bytes.</summary>
    Mem,
}

/// <summary>
/// Writes a metric record as the EMF document Fluent Bit's <c>pack_emf_payload</c> builds:
/// <c>{"_aws":{"Timestamp":&lt;seconds×1000&gt;,"CloudWatchMetrics":[{"Namespace":…,"Dimensions":[[…]],"Metrics":[{"Name":…,"Unit":…}]}]},
/// &lt;every key and value of the record&gt;}</c>. <c>metric_namespace</c> defaults to <c>fluent-bit-metrics</c>;
/// <c>metric_dimensions</c> is a <c>;</c>-separated list of dimension sets, each a <c>,</c>-separated list of keys.
/// </summary>
/// <remarks>
/// Fluent Bit declares the Metrics array as 3 (cpu) or 6 (mem) entries whatever the record holds, which corrupts
/// the document when a key is missing; here the array holds exactly the metric keys the record has. The header
/// (namespace, dimensions) is encoded once; per record only the timestamp, the metric names and the record's own
/// entries are written, straight into the caller's buffer.
/// </remarks>
internal sealed class CloudWatchEmfEncoder
{
    public const string DefaultNamespace = "fluent-bit-metrics";

    // "Name" prefixes of should_add_to_emf (strncmp on the prefix length, so "cpu_p" and "cpu_anything" both count).
    private static readonly byte[][] CpuMetricPrefixes = ["cpu_"u8.ToArray(), "user_p"u8.ToArray(), "system_p"u8.ToArray()];

    private static readonly byte[][] MemMetricPrefixes =
    [
        "Mem.total"u8.ToArray(), "Mem.used"u8.ToArray(), "Mem.free"u8.ToArray(),
        "Swap.total"u8.ToArray(), "Swap.used"u8.ToArray(), "Swap.free"u8.ToArray(),
    ];

    // ,"CloudWatchMetrics":[{"Namespace":"…","Dimensions":[…],"Metrics":[
    private readonly byte[] _directiveHead;

    public CloudWatchEmfEncoder(string? metricNamespace, IReadOnlyList<IReadOnlyList<string>> dimensions, FluentJsonFlags flags)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        Namespace = string.IsNullOrEmpty(metricNamespace) ? DefaultNamespace : metricNamespace;
        Dimensions = dimensions;
        var head = new ArrayBufferWriter<byte>(128);
        head.Write(",\"CloudWatchMetrics\":[{\"Namespace\":"u8);
        FluentJson.WriteString(System.Text.Encoding.UTF8.GetBytes(Namespace), head, flags);
        head.Write(",\"Dimensions\":["u8);
        for (var i = 0; i < dimensions.Count; i++)
        {
            head.Write(i == 0 ? "["u8 : ",["u8);
            for (var j = 0; j < dimensions[i].Count; j++)
            {
                if (j > 0)
                {
                    head.Write(","u8);
                }

                FluentJson.WriteString(System.Text.Encoding.UTF8.GetBytes(dimensions[i][j]), head, flags);
            }

            head.Write("]"u8);
        }

        head.Write("],\"Metrics\":["u8);
        _directiveHead = head.WrittenSpan.ToArray();
    }

    public string Namespace { get; }

    public IReadOnlyList<IReadOnlyList<string>> Dimensions { get; }

    /// <summary>The input plugin Fluent Bit checks (<c>strncmp(input_plugin, "cpu", 3)</c>, likewise <c>mem</c>).</summary>
    public static CloudWatchEmfSource SourceOf(string? inputPlugin) =>
        inputPlugin is null ? CloudWatchEmfSource.None
        : inputPlugin.StartsWith("cpu", StringComparison.Ordinal) ? CloudWatchEmfSource.Cpu
        : inputPlugin.StartsWith("mem", StringComparison.Ordinal) ? CloudWatchEmfSource.Mem
        : CloudWatchEmfSource.None;

    /// <summary>
    /// <c>metric_dimensions</c> as Fluent Bit splits it: dimension sets by <c>;</c>, the keys of a set by <c>,</c>,
    /// each trimmed; empty pieces are dropped.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> ParseDimensions(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return [];
        }

        var sets = new List<IReadOnlyList<string>>();
        foreach (var set in value.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var keys = set.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (keys.Length > 0)
            {
                sets.Add(keys);
            }
        }

        return sets;
    }

    /// <summary>
    /// Writes the EMF document for one metric record (a msgpack map) timestamped <paramref name="seconds"/>
    /// (Fluent Bit keeps whole seconds: <c>tv_sec * 1000</c>).
    /// </summary>
    /// <exception cref="MsgpackFormatException">The record is not valid msgpack.</exception>
    public void Write(ReadOnlySpan<byte> record, long seconds, CloudWatchEmfSource source, IBufferWriter<byte> output, FluentJsonFlags flags)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (source == CloudWatchEmfSource.None)
        {
            throw new ArgumentOutOfRangeException(nameof(source), "only cpu and mem records become EMF documents");
        }

        var prefixes = source == CloudWatchEmfSource.Cpu ? CpuMetricPrefixes : MemMetricPrefixes;
        var unit = source == CloudWatchEmfSource.Cpu ? "Percent"u8 : "Bytes"u8;
        output.Write("{\"_aws\":{\"Timestamp\":"u8);
        CNumberFormat.WriteInt64(output, seconds * 1000);
        output.Write(_directiveHead);

        var cursor = new MsgpackCursor(record);
        var map = cursor.Read();
        if (map.Kind != MsgpackKind.Map)
        {
            throw new MsgpackFormatException("a record must be a msgpack map", 0);
        }

        var entriesStart = cursor.Position;
        var metrics = 0;
        for (var i = 0; i < map.Length; i++)
        {
            var keyStart = cursor.Position;
            var key = cursor.Read();
            if (key.Kind == MsgpackKind.String && IsMetric(cursor.Payload(key), prefixes))
            {
                output.Write(metrics++ == 0 ? "{\"Name\":"u8 : ",{\"Name\":"u8);
                FluentJson.WriteString(cursor.Payload(key), output, flags);
                output.Write(",\"Unit\":\""u8);
                output.Write(unit);
                output.Write("\"}"u8);
            }

            // Past the whole key (it may be a container) and its value.
            cursor = new MsgpackCursor(record, keyStart);
            cursor.Skip();
            cursor.Skip();
        }

        output.Write("]}]}"u8);
        var entries = new MsgpackCursor(record, entriesStart);
        FluentJson.WriteMapEntries(ref entries, map.Length, output, flags, 0, needsLeadingComma: true);
        output.Write("}"u8);
    }

    private static bool IsMetric(ReadOnlySpan<byte> key, byte[][] prefixes)
    {
        foreach (var prefix in prefixes)
        {
            if (key.StartsWith(prefix))
            {
                return true;
            }
        }

        return false;
    }
}
