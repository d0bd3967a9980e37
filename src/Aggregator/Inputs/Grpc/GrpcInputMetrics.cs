using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>The gRPC inputs' (gateway_grpc, opentelemetry) instruments on the <c>Gateway</c> meter, tagged with the input's name.</summary>
internal sealed class GrpcInputMetrics
{
    private readonly KeyValuePair<string, object?> _input;
    private readonly Counter<long> _recordsIn;
    private readonly Counter<long> _bytesIn;
    private readonly Counter<long> _batchesAcked;
    private readonly Counter<long> _batchesRejected;
    private readonly Counter<long> _callsUnauthenticated;

    public GrpcInputMetrics(IMeterFactory meterFactory, string inputName)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        var meter = meterFactory.Create("Gateway");
        _input = new KeyValuePair<string, object?>("input", inputName);
        _recordsIn = meter.CreateCounter<long>("gateway.grpc.records_in", "{record}", "Events received and stored by gRPC inputs (gateway_grpc, opentelemetry)");
        _bytesIn = meter.CreateCounter<long>("gateway.grpc.bytes_in", "By", "Event bytes (msgpack) stored by gRPC inputs");
        _batchesAcked = meter.CreateCounter<long>("gateway.grpc.batches_acked", "{batch}", "Batches (OTLP: export requests) stored and acknowledged");
        _callsUnauthenticated = meter.CreateCounter<long>("gateway.grpc.calls_unauthenticated", "{call}", "Calls refused with Unauthenticated (missing or wrong token or client certificate)");
        _batchesRejected = meter.CreateCounter<long>("gateway.grpc.batches_rejected", "{batch}", "Batches refused (invalid or too large)");
    }

    public void Stored(int records, int bytes)
    {
        _recordsIn.Add(records, _input);
        _bytesIn.Add(bytes, _input);
        _batchesAcked.Add(1, _input);
    }

    public void Rejected() => _batchesRejected.Add(1, _input);

    public void Unauthenticated() => _callsUnauthenticated.Add(1, _input);
}
