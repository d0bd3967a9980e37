using System.Buffers;
using System.Text;
using Gateway.Engine.RecordAccessor;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// A log group or stream name as configured: static text, a Fluent Bit record accessor template
/// (<c>$kubernetes['namespace_name']</c>, <c>$TAG[1]</c>), the Go plugin's <c>$(tag[4])</c> syntax, and node
/// variables (<c>${HOST_NAME}</c>, <c>${NODE_NAME}</c>, <c>${HOST_NODE_NAME}</c>, <c>${HOSTNAME}</c>) that, when
/// the config reader left them unresolved, take the node the chunk came from (<c>EventChunk.NodeName</c>) — on a
/// central aggregator the sending node, not the aggregator's own host, names the stream. A chunk without a node
/// (a plain forward client) gets the variable's value from the environment, as Fluent Bit would substitute it.
/// </summary>
internal sealed class CloudWatchNameTemplate
{
    /// <summary>Variables that mean "the node the events came from".</summary>
    public static readonly string[] NodeVariables = ["HOST_NAME", "NODE_NAME", "HOST_NODE_NAME", "HOSTNAME"];

    // Control characters (invalid in group/stream names) stand in for the node variables while the accessor
    // renders: \u0001 for NodeVariables[0], \u0002 for [1], ...
    private const char FirstMarker = '\u0001';

    private readonly RecordAccessor? _accessor;
    private readonly string _text;
    private readonly string[] _environmentValues;

    private CloudWatchNameTemplate(string pattern, string text, RecordAccessor? accessor, bool hasNodeVariable, bool appendTag, string[] environmentValues)
    {
        Pattern = pattern;
        _text = text;
        _accessor = accessor;
        HasNodeVariable = hasNodeVariable;
        AppendTag = appendTag;
        _environmentValues = environmentValues;
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
    /// <param name="environment">Where a node variable's value comes from for chunks without a node; the process environment by default.</param>
    public static CloudWatchNameTemplate Parse(string pattern, bool legacySyntax, bool recordAccessor, bool appendTag = false, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        var text = pattern;
        var hasNode = false;
        var values = new string[NodeVariables.Length];
        for (var i = 0; i < NodeVariables.Length; i++)
        {
            values[i] = environment(NodeVariables[i]) ?? string.Empty;
            var variable = "${" + NodeVariables[i] + "}";
            if (text.Contains(variable, StringComparison.Ordinal))
            {
                text = text.Replace(variable, ((char)(FirstMarker + i)).ToString(), StringComparison.Ordinal);
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

        return new CloudWatchNameTemplate(pattern, text, accessor, hasNode, appendTag, values);
    }

    /// <summary>
    /// Writes the name as UTF-8. False when a template part is missing (strict) or the result is empty; the
    /// caller then uses its fallback name.
    /// </summary>
    /// <param name="nodeName">The chunk's node; null = use the environment's value of each node variable.</param>
    /// <param name="scratch">Reusable buffer for the accessor's output (cleared here).</param>
    public bool TryRender(string tag, string? nodeName, ReadOnlySpan<byte> record, ArrayBufferWriter<byte> output, ArrayBufferWriter<byte> scratch)
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

            ReplaceMarkers(scratch.WrittenSpan, nodeName, output);
        }

        if (AppendTag)
        {
            WriteText(tag, nodeName, output);
        }

        return output.WrittenCount > start;
    }

    private void WriteText(string text, string? nodeName, ArrayBufferWriter<byte> output)
    {
        var rest = text.AsSpan();
        while (true)
        {
            var marker = rest.IndexOfAnyInRange(FirstMarker, (char)(FirstMarker + NodeVariables.Length - 1));
            Write(marker < 0 ? rest : rest[..marker], output);
            if (marker < 0)
            {
                return;
            }

            Write(nodeName ?? _environmentValues[rest[marker] - FirstMarker], output);
            rest = rest[(marker + 1)..];
        }
    }

    private void ReplaceMarkers(ReadOnlySpan<byte> rendered, string? nodeName, ArrayBufferWriter<byte> output)
    {
        while (true)
        {
            var marker = rendered.IndexOfAnyInRange((byte)FirstMarker, (byte)(FirstMarker + NodeVariables.Length - 1));
            if (marker < 0)
            {
                output.Write(rendered);
                return;
            }

            output.Write(rendered[..marker]);
            Write(nodeName ?? _environmentValues[rendered[marker] - FirstMarker], output);
            rendered = rendered[(marker + 1)..];
        }
    }

    private static void Write(ReadOnlySpan<char> text, ArrayBufferWriter<byte> output)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(text.Length));
        output.Advance(Encoding.UTF8.GetBytes(text, span));
    }
}
