using System.Text;
using Gateway.Aggregator.Tests.EndToEnd;
using Gateway.Shipper.Tests.Support;

namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>
/// A fake node for the end-to-end tests: a temp directory that <c>GATEWAY_PATH_ROOT</c> points at, holding
/// <c>var/log</c> (a copy of the fixture tree, or empty) and the shipper's offset DBs under <c>var/fluent-bit</c>,
/// plus the aggregator's config (forward input → file output with filesystem storage).
/// </summary>
internal sealed class ShipperTestNode : IDisposable
{
    public const string NodeName = "ip-10-1-128-166.ec2.internal";

    public ShipperTestNode(bool copyFixtureLogs)
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("gateway-shipper-e2e-").FullName;
        Root = Path.Combine(Directory, "node");
        VarLog = Path.Combine(Root, "var", "log");
        System.IO.Directory.CreateDirectory(Path.Combine(VarLog, "containers"));
        System.IO.Directory.CreateDirectory(Path.Combine(Root, "var", "fluent-bit", "state"));
        if (copyFixtureLogs)
        {
            CopyTree(Path.Combine(Fixtures.Root, "node", "var", "log"), VarLog);
        }

        OutDir = Path.Combine(Directory, "out");
        System.IO.Directory.CreateDirectory(OutDir);
        AggregatorDir = Path.Combine(Directory, "aggregator");
        System.IO.Directory.CreateDirectory(AggregatorDir);
        ShipperDir = Path.Combine(Directory, "shipper");
        System.IO.Directory.CreateDirectory(ShipperDir);
    }

    public string Directory { get; }

    /// <summary>What <c>GATEWAY_PATH_ROOT</c> points at: <c>/var/log/...</c> in configs means <c>Root/var/log/...</c>.</summary>
    public string Root { get; }

    public string VarLog { get; }

    public string OutDir { get; }

    public string AggregatorDir { get; }

    public string ShipperDir { get; }

    public Dictionary<string, string> ShipperEnvironment => new()
    {
        ["NODE_NAME"] = NodeName,
        ["GATEWAY_PATH_ROOT"] = Root,
    };

    /// <summary>Forward in (acks come after the filesystem buffer has the chunk) → file out, one file per tag.</summary>
    public string AggregatorConfig(int forwardPort, int httpPort) => $"""
        [SERVICE]
            Flush        1
            Log_Level    info
            HTTP_Server  On
            HTTP_Listen  127.0.0.1
            HTTP_Port    {httpPort}
            storage.path {Path.Combine(Directory, "storage")}
            storage.sync normal

        [INPUT]
            Name         forward
            Listen       127.0.0.1
            Port         {forwardPort}
            storage.type filesystem

        [OUTPUT]
            Name   file
            Match  *
            Path   {OutDir}
        """;

    /// <summary>Writes the shipper's config file (and copies <paramref name="extraFiles"/> next to it).</summary>
    public string WriteShipperConfig(string text, params string[] extraFiles)
    {
        foreach (var file in extraFiles)
        {
            File.Copy(file, Path.Combine(ShipperDir, Path.GetFileName(file)), overwrite: true);
        }

        var path = Path.Combine(ShipperDir, "fluent-bit.conf");
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>The <c>[INPUT]</c> sections of a seed config file, verbatim (keys, comments, values), for a shipper config.</summary>
    public static string InputSections(string seedFile)
    {
        var text = new StringBuilder();
        var inInput = false;
        foreach (var line in File.ReadLines(seedFile))
        {
            var trimmed = line.Trim();
            if (trimmed.StartsWith('['))
            {
                inInput = trimmed.Equals("[INPUT]", StringComparison.OrdinalIgnoreCase);
                if (inInput)
                {
                    text.AppendLine();
                }
            }

            if (inInput)
            {
                text.AppendLine(line);
            }
        }

        return text.ToString();
    }

    public void Dispose()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A process we killed may still hold a file for a moment; the temp dir is cleaned by the OS later.
        }
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var dir in System.IO.Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
        {
            System.IO.Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        }

        foreach (var file in System.IO.Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)), overwrite: true);
        }
    }
}
