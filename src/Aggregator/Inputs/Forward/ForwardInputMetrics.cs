using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Inputs.Forward;

/// <summary>
/// The forward input's instruments on the <c>Gateway</c> meter; every measurement carries the input's name
/// (<c>input</c> tag) so several forward inputs can be told apart.
/// </summary>
public sealed class ForwardInputMetrics
{
    public const string MeterName = "Gateway";

    private readonly KeyValuePair<string, object?> _input;
    private readonly Counter<long> _recordsIn;
    private readonly Counter<long> _bytesIn;
    private readonly Counter<long> _messages;
    private readonly Counter<long> _acksSent;
    private readonly UpDownCounter<long> _connectionsOpen;
    private readonly Counter<long> _connectionsTotal;
    private readonly Counter<long> _connectionErrors;

    public ForwardInputMetrics(IMeterFactory meterFactory, string inputName)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create(MeterName);
        _input = new KeyValuePair<string, object?>("input", inputName);
        _recordsIn = meter.CreateCounter<long>("gateway.forward.records_in", "{record}", "Events received and stored by forward inputs");
        _bytesIn = meter.CreateCounter<long>("gateway.forward.bytes_in", "By", "Forward message bytes received (as on the wire)");
        _messages = meter.CreateCounter<long>("gateway.forward.messages", "{message}", "Forward messages received, by mode");
        _acksSent = meter.CreateCounter<long>("gateway.forward.acks_sent", "{ack}", "Ack responses sent after the events were stored");
        _connectionsOpen = meter.CreateUpDownCounter<long>("gateway.forward.connections_open", "{connection}", "Forward connections currently open");
        _connectionsTotal = meter.CreateCounter<long>("gateway.forward.connections_total", "{connection}", "Forward connections accepted");
        _connectionErrors = meter.CreateCounter<long>("gateway.forward.connection_errors", "{connection}", "Forward connections closed because of bad input, by reason");
    }

    public void ConnectionOpened()
    {
        _connectionsTotal.Add(1, _input);
        _connectionsOpen.Add(1, _input);
    }

    public void ConnectionClosed() => _connectionsOpen.Add(-1, _input);

    public void MessageReceived(string mode, long wireBytes, int records)
    {
        _messages.Add(1, _input, new KeyValuePair<string, object?>("mode", mode));
        _bytesIn.Add(wireBytes, _input);
        _recordsIn.Add(records, _input);
    }

    public void AckSent() => _acksSent.Add(1, _input);

    public void ConnectionError(string reason)
    {
        var tags = new TagList { _input, { "reason", reason } };
        _connectionErrors.Add(1, tags);
    }
}
