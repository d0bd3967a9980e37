using System.Globalization;

namespace Gateway.FakeServices;

/// <summary>Command line of the fake services host: which fakes to start and how to seed them.</summary>
internal sealed class FakeServicesOptions
{
    /// <summary>Pods the fake Kubernetes API serves (<see cref="Gateway.Tools.SyntheticPods"/> 0..N-1); 0 = no Kubernetes fake.</summary>
    public int KubernetesPods { get; private init; }

    /// <summary>The bearer token the fake Kubernetes API demands (the aggregator reads it from Kube_Token_File).</summary>
    public string KubernetesToken { get; private init; } = "bench-token";

    /// <summary>Where the CloudWatch Logs fake writes its self-signed certificate (PEM); null = no CloudWatch fake.</summary>
    public string? CloudWatchCertificatePath { get; private init; }

    public const string Usage =
        "Usage: Gateway.FakeServices [--kubernetes-pods N] [--kubernetes-token bench-token] [--cloudwatch-cert cert.pem]\n" +
        "Starts the requested fakes on 127.0.0.1 (free ports; Kubernetes plain http, CloudWatch Logs https with a\n" +
        "self-signed certificate written to cert.pem), prints one '<name>_url=...' line each and then 'ready';\n" +
        "on SIGTERM/SIGINT prints one '<name>_requests ...' line each and exits.";

    public bool AnyService => KubernetesPods > 0 || CloudWatchCertificatePath is not null;

    public static bool TryParse(string[] args, out FakeServicesOptions options, out string? error)
    {
        options = new FakeServicesOptions();
        error = null;
        long pods = 0;
        var token = options.KubernetesToken;
        string? certificate = null;
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
                "--kubernetes-pods" => Number(value, 0, 1_000_000, ref pods),
                "--kubernetes-token" => (token = value).Length > 0,
                "--cloudwatch-cert" => (certificate = value).Length > 0,
                _ => false,
            };
            if (!ok)
            {
                error = $"bad option or value: {name} {value}";
                return false;
            }
        }

        options = new FakeServicesOptions { KubernetesPods = (int)pods, KubernetesToken = token, CloudWatchCertificatePath = certificate };
        if (!options.AnyService)
        {
            error = "no fake requested";
            return false;
        }

        return true;
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
