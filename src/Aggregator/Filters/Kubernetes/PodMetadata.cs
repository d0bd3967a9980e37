using k8s.Models;
using MessagePack;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>One container's status fields the filter outputs (kube_meta.c extract_container_hash).</summary>
internal sealed record ContainerStatusInfo(string Name, string? Hash, string? Image);

/// <summary>
/// The part of a Pod the filter outputs, and nothing else: a watch over a whole cluster holds thousands of these,
/// so maps (labels, annotations, owner references) are kept as the msgpack bytes they are written as, and the
/// rest as strings. Immutable: updates replace the instance, which tells per-tag caches to re-encode.
/// </summary>
internal sealed class PodMetadata
{
    private PodMetadata(string ns, string name)
    {
        Namespace = ns;
        Name = name;
        Key = KeyOf(ns, name);
    }

    public string Key { get; }

    public string Namespace { get; }

    public string Name { get; }

    public string? Uid { get; private init; }

    public string? ResourceVersion { get; private init; }

    public byte[]? LabelsMsgpack { get; private init; }

    public byte[]? AnnotationsMsgpack { get; private init; }

    public byte[]? OwnerReferencesMsgpack { get; private init; }

    public string? NodeName { get; private init; }

    public string? PodIp { get; private init; }

    public ContainerStatusInfo[] Containers { get; private init; } = [];

    /// <summary>The <c>fluentbit.io/*</c> annotations in API order (key without the prefix), for K8S-Logging.*.</summary>
    public KeyValuePair<string, string>[] LoggingAnnotations { get; private init; } = [];

    /// <summary>Loaded from Kube_Meta_Preload_Cache_Dir: kept even when the API server does not list the pod
    /// (Fluent Bit consults those files before the API), until a watch event replaces it.</summary>
    public bool Preloaded { get; private init; }

    /// <summary>When the pod was deleted (TimeProvider timestamp), or null while it exists.</summary>
    public long? DeletedAt { get; private init; }

    public static string KeyOf(string ns, string name) => string.Concat(ns, "/", name);

    public PodMetadata AsPreloaded() => new(Namespace, Name)
    {
        Uid = Uid,
        ResourceVersion = ResourceVersion,
        LabelsMsgpack = LabelsMsgpack,
        AnnotationsMsgpack = AnnotationsMsgpack,
        OwnerReferencesMsgpack = OwnerReferencesMsgpack,
        NodeName = NodeName,
        PodIp = PodIp,
        Containers = Containers,
        LoggingAnnotations = LoggingAnnotations,
        Preloaded = true,
    };

    public PodMetadata AsDeleted(long timestamp) => new(Namespace, Name)
    {
        Uid = Uid,
        ResourceVersion = ResourceVersion,
        LabelsMsgpack = LabelsMsgpack,
        AnnotationsMsgpack = AnnotationsMsgpack,
        OwnerReferencesMsgpack = OwnerReferencesMsgpack,
        NodeName = NodeName,
        PodIp = PodIp,
        Containers = Containers,
        LoggingAnnotations = LoggingAnnotations,
        DeletedAt = timestamp,
    };

    /// <summary>Keeps only what <paramref name="options"/> makes the filter output.</summary>
    public static PodMetadata? FromPod(V1Pod pod, KubernetesFilterOptions options)
    {
        var meta = pod.Metadata;
        if (meta?.Name is null || meta.NamespaceProperty is null)
        {
            return null;
        }

        var logging = new List<KeyValuePair<string, string>>();
        if (meta.Annotations is not null && (options.K8sLoggingParser || options.K8sLoggingExclude))
        {
            foreach (var (key, value) in meta.Annotations)
            {
                // kube_meta.c: keys longer than "fluentbit.io/" with that prefix.
                if (key.Length > 13 && key.StartsWith("fluentbit.io/", StringComparison.Ordinal))
                {
                    logging.Add(new(key[13..], value ?? string.Empty));
                }
            }
        }

        return new PodMetadata(meta.NamespaceProperty, meta.Name)
        {
            Uid = meta.Uid,
            ResourceVersion = meta.ResourceVersion,
            LabelsMsgpack = options.Labels ? EncodeStringMap(meta.Labels) : null,
            AnnotationsMsgpack = options.Annotations ? EncodeStringMap(meta.Annotations) : null,
            OwnerReferencesMsgpack = options.OwnerReferences ? EncodeOwnerReferences(meta.OwnerReferences) : null,
            NodeName = pod.Spec?.NodeName,
            PodIp = pod.Status?.PodIP,
            Containers = ContainersOf(pod.Status),
            LoggingAnnotations = [.. logging],
        };
    }

    public ContainerStatusInfo? FindContainer(string? name)
    {
        if (name is null)
        {
            return null;
        }

        foreach (var container in Containers)
        {
            if (container.Name == name)
            {
                return container;
            }
        }

        return null;
    }

    private static ContainerStatusInfo[] ContainersOf(V1PodStatus? status)
    {
        if (status is null)
        {
            return [];
        }

        var list = new List<ContainerStatusInfo>();
        Add(status.ContainerStatuses);
        Add(status.InitContainerStatuses);
        return [.. list];

        void Add(IList<V1ContainerStatus>? statuses)
        {
            if (statuses is null)
            {
                return;
            }

            foreach (var s in statuses)
            {
                if (s.Name is not null)
                {
                    list.Add(new ContainerStatusInfo(s.Name, ExtractHash(s.ImageID), string.IsNullOrEmpty(s.Image) ? null : s.Image));
                }
            }
        }
    }

    /// <summary>
    /// kube_meta.c extract_hash: the value after <c>scheme://</c> when the first colon is followed by slashes
    /// (<c>docker-pullable://nginx@sha256:…</c> → <c>nginx@sha256:…</c>), the whole value when it has a colon
    /// without slashes, nothing when it has no colon.
    /// </summary>
    internal static string? ExtractHash(string? value)
    {
        if (value is null || value.Length <= 1)
        {
            return null;
        }

        var colon = value.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return null;
        }

        var end = colon;
        while (end + 1 < value.Length && value[end + 1] == '/')
        {
            end++;
        }

        if (end == colon)
        {
            return value;
        }

        return end + 1 < value.Length ? value[(end + 1)..] : null;
    }

    private static byte[]? EncodeStringMap(IDictionary<string, string>? map)
    {
        if (map is null)
        {
            return null;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64);
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(map.Count);
        foreach (var (key, value) in map)
        {
            writer.Write(key);
            writer.Write(value);
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static byte[]? EncodeOwnerReferences(IList<V1OwnerReference>? references)
    {
        if (references is null)
        {
            return null;
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(references.Count);
        foreach (var r in references)
        {
            // The API server's field order, which Fluent Bit copies as it receives it.
            var count = 4 + (r.Controller is null ? 0 : 1) + (r.BlockOwnerDeletion is null ? 0 : 1);
            writer.WriteMapHeader(count);
            writer.Write("apiVersion");
            writer.Write(r.ApiVersion);
            writer.Write("kind");
            writer.Write(r.Kind);
            writer.Write("name");
            writer.Write(r.Name);
            writer.Write("uid");
            writer.Write(r.Uid);
            if (r.Controller is { } controller)
            {
                writer.Write("controller");
                writer.Write(controller);
            }

            if (r.BlockOwnerDeletion is { } block)
            {
                writer.Write("blockOwnerDeletion");
                writer.Write(block);
            }
        }

        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>A namespace's <c>kubernetes_namespace</c> map (kube_meta.c merge_namespace_meta), pre-encoded.</summary>
internal sealed class NamespaceMetadata
{
    public NamespaceMetadata(string name, byte[] mapMsgpack)
    {
        Name = name;
        MapMsgpack = mapMsgpack;
    }

    public string Name { get; }

    public byte[] MapMsgpack { get; }

    public static NamespaceMetadata? FromNamespace(V1Namespace ns, KubernetesFilterOptions options)
    {
        var name = ns.Metadata?.Name;
        if (name is null)
        {
            return null;
        }

        var labels = options.NamespaceLabels ? ns.Metadata!.Labels : null;
        var annotations = options.NamespaceAnnotations ? ns.Metadata!.Annotations : null;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64);
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(1 + (labels is null ? 0 : 1) + (annotations is null ? 0 : 1));
        writer.Write("name");
        writer.Write(name);
        WriteMap(ref writer, "labels", labels);
        WriteMap(ref writer, "annotations", annotations);
        writer.Flush();
        return new NamespaceMetadata(name, buffer.WrittenSpan.ToArray());
    }

    private static void WriteMap(ref MessagePackWriter writer, string key, IDictionary<string, string>? map)
    {
        if (map is null)
        {
            return;
        }

        writer.Write(key);
        writer.WriteMapHeader(map.Count);
        foreach (var (k, v) in map)
        {
            writer.Write(k);
            writer.Write(v);
        }
    }
}
