using Gateway.Engine.Config;

namespace Gateway.Engine.Forward;

/// <summary>
/// Fluent Bit's upstream file for <c>[OUTPUT] forward</c>'s <c>Upstream</c> option: one <c>[UPSTREAM]</c> with a
/// <c>name</c>, then one <c>[NODE]</c> per server (<c>name</c>, <c>host</c>, <c>port</c>, and optionally its own
/// <c>shared_key</c> and <c>tls</c>). Every problem is a <see cref="ConfigException"/> with the upstream file's
/// file:line.
/// </summary>
internal static class ForwardUpstreamFile
{
    private static readonly string[] NodeKeys = ["name", "host", "port", "shared_key", "tls"];

    /// <summary>Reads the file and returns its nodes in file order.</summary>
    /// <param name="path">The file; relative paths resolve against <paramref name="baseDirectory"/> (the config's directory).</param>
    /// <param name="reference">Where the <c>Upstream</c> option was set, for errors about the file as a whole.</param>
    public static IReadOnlyList<ForwardEndpoint> Load(string path, string baseDirectory, ConfigLocation reference)
    {
        var fullPath = Path.GetFullPath(path.Trim(), baseDirectory);
        if (!File.Exists(fullPath))
        {
            throw new ConfigException(reference, $"forward: upstream file '{fullPath}' does not exist");
        }

        var document = ClassicConfigReader.Load(fullPath);
        foreach (var diagnostic in document.Diagnostics)
        {
            if (diagnostic.Severity == DiagnosticSeverity.Error)
            {
                throw new ConfigException(diagnostic.Location, "forward: upstream file: " + diagnostic.Message);
            }
        }

        var upstreams = 0;
        var endpoints = new List<ForwardEndpoint>();
        foreach (var section in document.Sections)
        {
            switch (section.Kind)
            {
                case SectionKind.Upstream:
                    upstreams++;
                    if (upstreams > 1)
                    {
                        throw new ConfigException(section.Location, "forward: upstream file has more than one [UPSTREAM] section");
                    }

                    if (string.IsNullOrWhiteSpace(section.Get("name")))
                    {
                        throw new ConfigException(section.Location, "forward: [UPSTREAM] needs a 'name'");
                    }

                    break;
                case SectionKind.Node:
                    endpoints.Add(ReadNode(section));
                    break;
                default:
                    throw new ConfigException(section.Location, $"forward: upstream file: unexpected section [{section.Header}] (only [UPSTREAM] and [NODE])");
            }
        }

        if (upstreams == 0)
        {
            throw new ConfigException(new ConfigLocation(fullPath, 1), "forward: upstream file has no [UPSTREAM] section");
        }

        if (endpoints.Count == 0)
        {
            throw new ConfigException(new ConfigLocation(fullPath, 1), "forward: upstream file has no [NODE] section");
        }

        return endpoints;
    }

    private static ForwardEndpoint ReadNode(ConfigSection section)
    {
        foreach (var entry in section.Entries)
        {
            if (Array.IndexOf(NodeKeys, entry.Key.ToLowerInvariant()) < 0)
            {
                // tls.* per node, net.* and the rest are not read yet: refusing them beats ignoring them.
                throw new ConfigException(entry.Location, $"forward: [NODE] key '{entry.Key}' is not supported by Gateway (only name, host, port, shared_key, tls)");
            }
        }

        var host = section.Find("host") ?? throw new ConfigException(section.Location, "forward: [NODE] needs a 'host'");
        if (string.IsNullOrWhiteSpace(host.Value))
        {
            throw new ConfigException(host.Location, "forward: [NODE] 'host' is empty");
        }

        var port = (int)ConfigValues.Integer(section.Find("port"), 24224, 1, 65535);
        var tls = section.Find("tls") is { } tlsEntry ? ConfigValues.Bool(tlsEntry, false) : (bool?)null;
        return new ForwardEndpoint(host.Value.Trim(), port)
        {
            SharedKey = section.Get("shared_key"),
            Tls = tls,
        };
    }
}
