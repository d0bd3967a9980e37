using System.Buffers;
using Gateway.Engine.Parsers;
using MessagePack;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>Fluent Bit's FLB_KUBE_PROP_UNDEF / FALSE / TRUE for an exclude annotation.</summary>
internal enum ExcludeSetting
{
    Undefined,
    False,
    True,
}

/// <summary>
/// Everything the filter needs for the records of one tag (one container of one pod version): the
/// <c>kubernetes</c> map already encoded, and the parser and exclude settings its annotations ask for. Built
/// once per tag and pod version, so per record the map is a byte copy.
/// </summary>
internal sealed class ContainerMetadata
{
    /// <summary>
    /// For a pod neither the cache nor the API knows: as Fluent Bit when its API request fails, the records are
    /// still processed (Merge_Log) but get no <c>kubernetes</c> map and no annotation settings.
    /// </summary>
    public static ContainerMetadata UnknownPod { get; } = new() { Pod = null, KubernetesMapMsgpack = null };

    /// <summary>The pod version this was built from; null for <see cref="UnknownPod"/>.</summary>
    public required PodMetadata? Pod { get; init; }

    public required byte[]? KubernetesMapMsgpack { get; init; }

    public IRecordParser? StdoutParser { get; init; }

    public IRecordParser? StderrParser { get; init; }

    public ExcludeSetting StdoutExclude { get; init; }

    public ExcludeSetting StderrExclude { get; init; }

    /// <summary>Annotation parsers named that the configuration does not define (reported by the caller).</summary>
    public IReadOnlyList<string> MissingParsers { get; init; } = [];

    /// <summary>kube_meta.c merge_pod_meta: the key order of Fluent Bit's <c>kubernetes</c> map.</summary>
    public static ContainerMetadata Build(PodMetadata pod, KubernetesTagInfo tag, KubernetesFilterOptions options, ParserRegistry parsers)
    {
        var container = pod.FindContainer(tag.ContainerName);
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        var count = 2
            + (pod.Uid is null ? 0 : 1)
            + (pod.LabelsMsgpack is null ? 0 : 1)
            + (pod.AnnotationsMsgpack is null ? 0 : 1)
            + (pod.OwnerReferencesMsgpack is null ? 0 : 1)
            + (pod.NodeName is null ? 0 : 1)
            + (pod.PodIp is null ? 0 : 1)
            + (tag.ContainerName is null ? 0 : 1)
            + (tag.DockerId is null ? 0 : 1)
            + (container?.Hash is null ? 0 : 1)
            + (container?.Image is null ? 0 : 1);
        writer.WriteMapHeader(count);
        writer.Write("pod_name");
        writer.Write(tag.PodName);
        writer.Write("namespace_name");
        writer.Write(tag.NamespaceName);
        WriteString(ref writer, "pod_id", pod.Uid);
        WriteRaw(ref writer, "labels", pod.LabelsMsgpack);
        WriteRaw(ref writer, "annotations", pod.AnnotationsMsgpack);
        WriteRaw(ref writer, "ownerReferences", pod.OwnerReferencesMsgpack);
        WriteString(ref writer, "host", pod.NodeName);
        WriteString(ref writer, "pod_ip", pod.PodIp);
        WriteString(ref writer, "container_name", tag.ContainerName);
        WriteString(ref writer, "docker_id", tag.DockerId);
        WriteString(ref writer, "container_hash", container?.Hash);
        WriteString(ref writer, "container_image", container?.Image);
        writer.Flush();

        var props = new LoggingProperties();
        var missing = new List<string>();
        foreach (var (key, value) in pod.LoggingAnnotations)
        {
            props.Apply(key, value, tag.ContainerName, options, parsers, missing);
        }

        return new ContainerMetadata
        {
            Pod = pod,
            KubernetesMapMsgpack = buffer.WrittenSpan.ToArray(),
            StdoutParser = props.StdoutParser,
            StderrParser = props.StderrParser,
            StdoutExclude = props.StdoutExclude,
            StderrExclude = props.StderrExclude,
            MissingParsers = missing,
        };
    }

    private static void WriteString(ref MessagePackWriter writer, string key, string? value)
    {
        if (value is not null)
        {
            writer.Write(key);
            writer.Write(value);
        }
    }

    private static void WriteRaw(ref MessagePackWriter writer, string key, byte[]? value)
    {
        if (value is not null)
        {
            writer.Write(key);
            writer.WriteRaw(value);
        }
    }

    /// <summary>
    /// kube_property.c: <c>parser|exclude[_stdout|_stderr][-container]</c>. A container-specific annotation for
    /// this container always wins; a general one applies only while the setting is still undefined, so among
    /// general ones the first in annotation order counts.
    /// </summary>
    private sealed class LoggingProperties
    {
        public IRecordParser? StdoutParser { get; private set; }

        public IRecordParser? StderrParser { get; private set; }

        public ExcludeSetting StdoutExclude { get; private set; }

        public ExcludeSetting StderrExclude { get; private set; }

        public void Apply(string property, string value, string? containerName, KubernetesFilterOptions options, ParserRegistry parsers, List<string> missing)
        {
            var name = property;
            var containerSpecific = false;
            var dash = property.IndexOf('-', StringComparison.Ordinal);
            if (dash >= 0)
            {
                if (containerName is null || !property.AsSpan(dash + 1).SequenceEqual(containerName))
                {
                    return; // meant for another container of the pod
                }

                name = property[..dash];
                containerSpecific = true;
            }

            var (kind, stdout, stderr) = name switch
            {
                "parser" => (0, true, true),
                "parser_stdout" => (0, true, false),
                "parser_stderr" => (0, false, true),
                "exclude" => (1, true, true),
                "exclude_stdout" => (1, true, false),
                "exclude_stderr" => (1, false, true),
                _ => (-1, false, false),
            };

            if (kind == 0 && options.K8sLoggingParser)
            {
                if (!parsers.TryGet(value.Trim(), out var parser))
                {
                    missing.Add(value);
                    return;
                }

                if (stdout && (containerSpecific || StdoutParser is null))
                {
                    StdoutParser = parser;
                }

                if (stderr && (containerSpecific || StderrParser is null))
                {
                    StderrParser = parser;
                }
            }
            else if (kind == 1 && options.K8sLoggingExclude)
            {
                var exclude = Gateway.Engine.Config.ConfigValues.ParseBool(value) == true ? ExcludeSetting.True : ExcludeSetting.False;
                if (stdout && (containerSpecific || StdoutExclude == ExcludeSetting.Undefined))
                {
                    StdoutExclude = exclude;
                }

                if (stderr && (containerSpecific || StderrExclude == ExcludeSetting.Undefined))
                {
                    StderrExclude = exclude;
                }
            }
        }
    }
}
