using System.Diagnostics.Metrics;

namespace Gateway.Engine.Forward;

/// <summary>Forward client counters on the <c>Gateway</c> meter, tagged with the client's name.</summary>
internal sealed class ForwardClientMetrics
{
    private static readonly Meter SharedMeter = new("Gateway");
    private static readonly Counter<long> ChunksWritten = SharedMeter.CreateCounter<long>("gateway.forward_client.chunks_written", "{chunk}", "PackedForward messages written (first sends and resends)");
    private static readonly Counter<long> ChunksResent = SharedMeter.CreateCounter<long>("gateway.forward_client.chunks_resent", "{chunk}", "Unacknowledged chunks written again after a reconnect");
    private static readonly Counter<long> ChunksAcked = SharedMeter.CreateCounter<long>("gateway.forward_client.chunks_acked", "{chunk}", "Chunks acknowledged by the server");
    private static readonly Counter<long> AckTimeouts = SharedMeter.CreateCounter<long>("gateway.forward_client.ack_timeouts", "{chunk}", "Chunks given back for retry without an ack");
    private static readonly Counter<long> Connects = SharedMeter.CreateCounter<long>("gateway.forward_client.connects", "{connection}", "Connections established");
    private static readonly Counter<long> ConnectFailures = SharedMeter.CreateCounter<long>("gateway.forward_client.connect_failures", "{attempt}", "Failed connection attempts (including refused handshakes)");
    private static readonly UpDownCounter<long> InFlight = SharedMeter.CreateUpDownCounter<long>("gateway.forward_client.in_flight", "{chunk}", "Chunks inside the send window");

    private readonly KeyValuePair<string, object?> _tag;

    public ForwardClientMetrics(string clientName)
    {
        _tag = new KeyValuePair<string, object?>("client", clientName);
    }

    public void Written() => ChunksWritten.Add(1, _tag);

    public void Resent(int count) => ChunksResent.Add(count, _tag);

    public void Acked() => ChunksAcked.Add(1, _tag);

    public void AckTimeout() => AckTimeouts.Add(1, _tag);

    public void Connected() => Connects.Add(1, _tag);

    public void ConnectFailed() => ConnectFailures.Add(1, _tag);

    public void EnteredWindow() => InFlight.Add(1, _tag);

    public void LeftWindow() => InFlight.Add(-1, _tag);
}
