using Gateway.Shipper.Pipeline;

namespace Gateway.Shipper.Tests.Pipeline;

public sealed class NodeIdentityTests
{
    [Theory]
    [InlineData("ip-1", "ip-2", "ip-3", "ip-1")]
    [InlineData(null, "ip-2", "ip-3", "ip-2")]
    [InlineData("", " ", "ip-3", "ip-3")]
    [InlineData(null, null, null, "pod-abc")]
    public void Node_name_comes_from_NODE_NAME_then_HOST_NAME_then_K8S_NODE_NAME_then_the_hostname(string? node, string? host, string? k8s, string expected)
    {
        var environment = new Dictionary<string, string?> { ["NODE_NAME"] = node, ["HOST_NAME"] = host, ["K8S_NODE_NAME"] = k8s };
        Assert.Equal(expected, NodeIdentity.Resolve(name => environment.GetValueOrDefault(name), "pod-abc"));
    }
}
