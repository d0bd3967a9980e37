using System.Buffers;
using System.Text;
using Gateway.Engine.RecordAccessor;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// A log group or stream name as configured: static text, a Fluent Bit record accessor template
/// (<c>$kubernetes['namespace_name']</c>, <c>$TAG[1]</c>), the Go plugin's <c>$(tag[4])</c> syntax, and node
/// variables (<c>${HOST_NAME}</c>, <c>${NODE_NAME}</c>, <c>${HOST_NODE_NAME}</c>) that, when the config reader
/// left them unresolved, take the node the chunk came from (<c>EventChunk.NodeName</c>) — on a central
/// aggregator the sending node, not the aggregator's own host, names the stream.
/// </summary>
internal sealed class CloudWatchNameTemplate
{
    /// <summary>Variables that mean "the node the events came from".</summary>
    public static readonly string[] NodeVariables = ["${HOST_NAME}", "${NODE_NAME}", "${HOST_NODE_NAME}", "${HOSTNAME}"];

    // A byte that cannot appear in a valid group/stream name stands in for the node name while the accessor renders.
    private const char NodeMarker = '\u0001';
    private const byte NodeMarkerByte = 0x01;

    private readonly RecordAccessor? _accessor;
    private readonly string _text;

    private CloudWatchNameTemplate(string pattern, string text, RecordAccessor? accessor, bool hasNodeVariable, bool appendTag)
    {
        Pattern = pattern;
        _text = text;
        _accessor = accessor;
        HasNodeVariable = hasNodeVariable;
        AppendTag = appendTag;
    }

    public string Pattern { get; }

    public bool HasNodeVariable { get; }

    /// <summary><c>log_stream_prefix</c>: the name is the prefix followed by the tag.</summary>
    public bool AppendTag { get; }

    /// <summary>The result depends on the record's keys (must be rendered per record, may fail).</summary>
    public bool DependsOnRecord => _accessor is { IsStatic: false };

    /// <summary>The result may be empty or fail for some chunks (a strict legacy template with <c>$(tag[n])</c>).</summary>
    public bool CanFail => _accessor is not null;

    /// <param name="pattern">The configured value.</param>
    /// <param name="legacySyntax">Parse <c>$(...)</c> (Go plugin); otherwise Fluent Bit record accessor syntax when <paramref name="recordAccessor"/>.</param>
    /// <exception cref="RecordAccessorSyntaxException">The template is not valid.</exception>
    public static CloudWatchNameTemplate Parse(string pattern, bool legacySyntax, bool recordAccessor, bool appendTag = false)
    {
        var text = pattern;
        var hasNode = false;
        foreach (var variable in NodeVariables)
        {
            if (text.Contains(variable, StringComparison.Ordinal))
            {
                text = text.Replace(variable, NodeMarker.ToString(), StringComparison.Ordinal);
                hasNode = true;
            }
        }

        RecordAccessor? accessor = null;
        if (legacySyntax && text.Contains("$(", StringComparison.Ordinal))
        {
            accessor = RecordAccessor.ParseLegacyTemplate(text);
        }
        else if (recordAccessor && text.Contains('$', StringComparison.Ordinal))
        {
            accessor = RecordAccessor.Parse(text);
        }

        return new CloudWatchNameTemplate(pattern, text, accessor, hasNode, appendTag);
    }

    /// <summary>
    /// Writes the name as UTF-8. False when a template part is missing (strict) or the result is empty; the
    /// caller then uses its fallback name.
    /// </summary>
    /// <param name="scratch">Reusable buffer for the accessor's output (cleared here).</param>
    public bool TryRender(string tag, string nodeName, ReadOnlySpan<byte> record, ArrayBufferWriter<byte> output, ArrayBufferWriter<byte> scratch)
    {
        var start = output.WrittenCount;
        if (_accessor is null)
        {
            WriteText(_text, nodeName, output);
        }
        else
        {
            scratch.ResetWrittenCount();
            if (!_accessor.RenderTemplate(tag, record, scratch, strict: true))
            {
                return false;
            }

            ReplaceMarker(scratch.WrittenSpan, nodeName, output);
        }

        if (AppendTag)
        {
            WriteText(tag, nodeName, output);
        }

        return output.WrittenCount > start;
    }

    private static void WriteText(string text, string nodeName, ArrayBufferWriter<byte> output)
    {
        var rest = text.AsSpan();
        while (true)
        {
            var marker = rest.IndexOf(NodeMarker);
            Write(marker < 0 ? rest : rest[..marker], output);
            if (marker < 0)
            {
                return;
            }

            Write(nodeName, output);
            rest = rest[(marker + 1)..];
        }
    }

    private static void ReplaceMarker(ReadOnlySpan<byte> rendered, string nodeName, ArrayBufferWriter<byte> output)
    {
        while (true)
        {
            var marker = rendered.IndexOf(NodeMarkerByte);
            if (marker < 0)
            {
                output.Write(rendered);
                return;
            }

            output.Write(rendered[..marker]);
            Write(nodeName, output);
            rendered = rendered[(marker + 1)..];
        }
    }

    private static void Write(ReadOnlySpan<char> text, ArrayBufferWriter<byte> output)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
