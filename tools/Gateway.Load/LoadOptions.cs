using System.Globalization;

namespace Gateway.Load;

/// <summary>Command line of the load tool.</summary>
internal sealed class LoadOptions
{
    public string Host { get; private init; } = "127.0.0.1";

    public int Port { get; private init; } = 24224;

    public long Records { get; private init; } = 1_000_000;

    public int Connections { get; private init; } = 4;

    /// <summary>Events per PackedForward message (one ack each), like Fluent Bit's out_forward chunks.</summary>
    public int Batch { get; private init; } = 1000;

    public int RecordBytes { get; private init; } = 200;

    public string Tag { get; private init; } = "load.test";

    public TimeSpan AckTimeout { get; private init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When above 0: send container-log records (docker json-file shape, an app JSON line in <c>log</c>) tagged as
    /// the tail files of <see cref="Gateway.Tools.SyntheticPods"/> 0..N-1, one pod per message in turn, instead of
    /// plain records under <see cref="Tag"/>.
    /// </summary>
    public int KubernetesPods { get; private init; }

    /// <summary>
    /// <c>forward</c> (PackedForward with acks), <c>grpc</c> (gateway.v1.Ingest stream, structured-body events as an
    /// app's GatewayLogClient sends them) or <c>grpc-chunk</c> (the stream with events_msgpack, the shipper's form).
    /// </summary>
    public string Protocol { get; private init; } = "forward";

    public const string Usage =
        "Usage: Gateway.Load [--host 127.0.0.1] [--port 24224] [--records 1000000] [--connections 4]\n" +
        "                    [--batch 1000] [--record-bytes 200] [--tag load.test] [--ack-timeout 60]\n" +
        "                    [--kubernetes-pods N] [--protocol forward|grpc|grpc-chunk]\n" +
        "Sends records as PackedForward messages with acks (or gateway.v1.Ingest batches on acknowledged gRPC\n" +
        "streams) over concurrent connections; prints records/s.\n" +
        "--kubernetes-pods N: container-log records ({log: app JSON line, stream, time}) tagged\n" +
        "kube.var.log.containers.<pod>_<namespace>_app-<id>.log over the N pods Gateway.FakeServices serves.";

    public static bool TryParse(string[] args, out LoadOptions options, out string? error)
    {
        options = new LoadOptions();
        error = null;
        string host = options.Host, tag = options.Tag, protocol = options.Protocol;
        long port = options.Port, records = options.Records, connections = options.Connections, batch = options.Batch,
            recordBytes = options.RecordBytes, ackTimeout = (long)options.AckTimeout.TotalSeconds, kubernetesPods = 0;
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (i + 1 >= args.Length)
            {
                error = $"option {name} needs a value";
                return false;
            }

            var value = args[++i];
            var ok = name switch
            {
                "--host" => Set(ref host, value),
                "--tag" => Set(ref tag, value),
                "--protocol" => value is "forward" or "grpc" or "grpc-chunk" && Set(ref protocol, value),
                "--port" => Number(value, 1, 65535, ref port),
                "--records" => Number(value, 1, long.MaxValue, ref records),
                "--connections" => Number(value, 1, 1024, ref connections),
                "--batch" => Number(value, 1, 100_000, ref batch),
                "--record-bytes" => Number(value, 32, 1 << 20, ref recordBytes),
                "--ack-timeout" => Number(value, 1, 3600, ref ackTimeout),
                "--kubernetes-pods" => Number(value, 1, 1_000_000, ref kubernetesPods),
                _ => false,
            };
            if (!ok)
            {
                error = $"bad option or value: {name} {value}";
                return false;
            }
        }

        options = new LoadOptions
        {
            Host = host,
            Port = (int)port,
            Records = records,
            Connections = (int)connections,
            Batch = (int)batch,
            RecordBytes = (int)recordBytes,
            Tag = tag,
            AckTimeout = TimeSpan.FromSeconds(ackTimeout),
            KubernetesPods = (int)kubernetesPods,
            Protocol = protocol,
        };
        return true;
    }

    private static bool Set(ref string target, string value)
    {
        target = value;
        return value.Length > 0;
    }

    private static bool Number(string text, long min, long max, ref long target)
    {
        if (!long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            return false;
        }

        target = value;
        return true;
    }
}
