using System.Text;
using System.Text.RegularExpressions;
using Gateway.Engine.Buffers;
using Gateway.Engine.Parsers;
using MessagePack;

namespace Gateway.Aggregator.Filters.Kubernetes;

/// <summary>What a tail tag says about the container a line came from (kube_regex.h's named groups).</summary>
internal sealed class KubernetesTagInfo
{
    public KubernetesTagInfo(string podName, string namespaceName, string? containerName, string? dockerId)
    {
        PodName = podName;
        NamespaceName = namespaceName;
        ContainerName = containerName;
        DockerId = dockerId;
        PodKey = PodMetadata.KeyOf(namespaceName, podName);
    }

    public string PodName { get; }

    public string NamespaceName { get; }

    public string? ContainerName { get; }

    public string? DockerId { get; }

    /// <summary>The cache key of the pod: <c>namespace/name</c>.</summary>
    public string PodKey { get; }
}

/// <summary>
/// Turns a tag into <see cref="KubernetesTagInfo"/>: strips <c>Kube_Tag_Prefix</c> and applies Fluent Bit's
/// default regex (or the <c>Regex_Parser</c>). Callers cache the result per tag: tags repeat for every chunk of a file.
/// </summary>
internal sealed class KubernetesTagParser
{
    /// <summary>kube_regex.h KUBE_TAG_TO_REGEX, unchanged.</summary>
    public const string DefaultPattern =
        @"(?<pod_name>[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)_(?<namespace_name>[^_]+)_(?<container_name>.+)-(?<docker_id>[a-z0-9]{64})\.log$";

    private static readonly Regex s_default = new(DefaultPattern, RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture, TimeSpan.FromSeconds(1));

    private readonly string _prefix;
    private readonly IRecordParser? _regexParser;

    public KubernetesTagParser(string prefix, IRecordParser? regexParser)
    {
        _prefix = prefix;
        _regexParser = regexParser;
    }

    /// <summary>Null when the tag is not longer than the prefix or does not match (Fluent Bit then leaves the
    /// records alone).</summary>
    public KubernetesTagInfo? Parse(string tag)
    {
        // flb_kube: "incoming record tag is shorter than kube_tag_prefix" -> skip. Like Fluent Bit, the prefix is
        // cut by length, not compared.
        if (_prefix.Length + 1 >= tag.Length)
        {
            return null;
        }

        var rest = tag[_prefix.Length..];
        return _regexParser is null ? ParseDefault(rest) : ParseWithParser(rest);
    }

    private static KubernetesTagInfo? ParseDefault(string rest)
    {
        var match = s_default.Match(rest);
        if (!match.Success)
        {
            return null;
        }

        return new KubernetesTagInfo(
            match.Groups["pod_name"].Value,
            match.Groups["namespace_name"].Value,
            match.Groups["container_name"].Value,
            match.Groups["docker_id"].Value);
    }

    private KubernetesTagInfo? ParseWithParser(string rest)
    {
        using var buffer = new PooledBufferWriter(256);
        if (!_regexParser!.TryParse(Encoding.UTF8.GetBytes(rest), buffer, out _))
        {
            return null;
        }

        string? pod = null, ns = null, container = null, dockerId = null;
        var reader = new MessagePackReader(buffer.WrittenMemory);
        var count = reader.ReadMapHeader();
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            if (reader.NextMessagePackType != MessagePackType.String)
            {
                reader.Skip();
                continue;
            }

            var value = reader.ReadString();
            switch (key)
            {
                case "pod_name": pod = value; break;
                case "namespace_name": ns = value; break;
                case "container_name": container = value; break;
                case "docker_id": dockerId = value; break;
            }
        }

        return pod is null || ns is null ? null : new KubernetesTagInfo(pod, ns, container, dockerId);
    }
}
