namespace Gateway.Shipper.Pipeline;

/// <summary>
/// The node's name as the aggregator should see it on every chunk. The DaemonSet passes it in the environment
/// (<c>NODE_NAME</c>, or Fluent Bit's <c>HOST_NAME</c>, or <c>K8S_NODE_NAME</c> from the downward API's
/// <c>spec.nodeName</c>); the pod's own hostname is only a fallback because inside a pod it is the pod name.
/// </summary>
internal static class NodeIdentity
{
    private static readonly string[] Variables = ["NODE_NAME", "HOST_NAME", "K8S_NODE_NAME"];

    public static string Resolve(Func<string, string?> environment, string machineName)
    {
        ArgumentNullException.ThrowIfNull(environment);
        foreach (var variable in Variables)
        {
            var value = environment(variable);
            if (!string.IsNullOrWhiteSpace(value))
            {
                return value.Trim();
            }
        }

        return machineName;
    }

    public static string FromEnvironment() => Resolve(Environment.GetEnvironmentVariable, Environment.MachineName);
}
