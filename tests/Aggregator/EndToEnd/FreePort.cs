using System.Net;
using System.Net.Sockets;

namespace Gateway.Aggregator.Tests.EndToEnd;

internal static class FreePort
{
    /// <summary>
    /// A port the OS just handed out on 127.0.0.1. Another process could take it before the aggregator binds
    /// it; the aggregator then fails to start with a clear error, which the tests report.
    /// </summary>
    public static int Next()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }
}
