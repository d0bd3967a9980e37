using Gateway.Aggregator.Inputs.Grpc;
using Gateway.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using OpenTelemetry.Proto.Collector.Logs.V1;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;
using OpenTelemetry.Proto.Resource.V1;

namespace Gateway.Aggregator.Tests.Inputs.Grpc;

/// <summary>The OTLP/gRPC logs receiver of an <c>[INPUT] Name opentelemetry</c>: what an SDK's export becomes.</summary>
public sealed class OtlpLogsServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private GrpcInputTestHost _host = null!;
    private GrpcChannel _channel = null!;

    public async Task InitializeAsync()
    {
        _host = await GrpcInputTestHost.StartAsync(new GrpcInputOptions
        {
            Protocol = GrpcInputProtocol.OtlpLogs,
            Name = "opentelemetry",
            Tag = "otel.apps",
            MaxBatchBytes = 4096,
        });
        _channel = GrpcChannel.ForAddress(_host.Address);
    }

    public async Task DisposeAsync()
    {
        _channel.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Export_maps_body_severity_attributes_resource_scope_ids_and_times_to_record_fields()
    {
        var log = new LogRecord
        {
            TimeUnixNano = 1_764_072_000_123_456_789,
            ObservedTimeUnixNano = 1_764_072_001_000_000_000,
            SeverityNumber = SeverityNumber.Warn,
            SeverityText = "Warning",
            Body = new AnyValue { StringValue = "disk almost full" },
            TraceId = ByteString.CopyFrom(Convert.FromHexString("0af7651916cd43dd8448eb211c80319c")),
            SpanId = ByteString.CopyFrom(Convert.FromHexString("b7ad6b7169203331")),
            Flags = 1,
            EventName = "disk.pressure",
        };
        log.Attributes.Add(Attribute("disk.free_pct", new AnyValue { DoubleValue = 4.5 }));
        log.Attributes.Add(Attribute("disk.name", new AnyValue { StringValue = "/dev/sda1" }));
        var request = Request(log);

        var response = await new LogsService.LogsServiceClient(_channel).ExportAsync(request).ResponseAsync.WaitAsync(Wait);

        Assert.Null(response.PartialSuccess);
        var (tag, time, json) = Assert.Single(_host.Sink.Events());
        Assert.Equal("otel.apps", tag);
        Assert.Equal((1_764_072_000u, 123_456_789u), (time.Seconds, time.Nanoseconds));
        const string Expected = """
            {"log":"disk almost full","severity_number":13,"severity_text":"Warning","attributes":{"disk.free_pct":4.5,"disk.name":"/dev/sda1"},"resource":{"service.name":"billing","k8s.pod.uid":42},"scope":{"name":"Billing.Worker","version":"1.2"},"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331","trace_flags":1,"event_name":"disk.pressure","observed_time_unix_nano":1764072001000000000}
            """;
        Assert.Equal(Expected, json);
    }

    [Fact]
    public async Task Structured_body_stays_structured_and_a_missing_time_falls_back_to_the_observed_time()
    {
        var body = new KeyValueList();
        body.Values.Add(Attribute("user", new AnyValue { StringValue = "ana" }));
        body.Values.Add(Attribute("tries", new AnyValue { IntValue = 3 }));
        body.Values.Add(Attribute("tags", new AnyValue { ArrayValue = new ArrayValue { Values = { new AnyValue { StringValue = "a" }, new AnyValue { BoolValue = true } } } }));
        var log = new LogRecord { ObservedTimeUnixNano = 1_764_072_005_000_000_000, Body = new AnyValue { KvlistValue = body } };

        await new LogsService.LogsServiceClient(_channel).ExportAsync(Request(log)).ResponseAsync.WaitAsync(Wait);

        var (_, time, json) = Assert.Single(_host.Sink.Events());
        Assert.Equal(1_764_072_005u, time.Seconds);
        Assert.StartsWith("""{"log":{"user":"ana","tries":3,"tags":["a",true]},"resource":""", json, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_over_Buffer_Max_Size_is_ResourceExhausted_naming_the_limit()
    {
        var logs = new LogRecord[10];
        for (var i = 0; i < logs.Length; i++)
        {
            logs[i] = new LogRecord { Body = new AnyValue { StringValue = new string('x', 500) } };
        }

        var error = await Assert.ThrowsAsync<RpcException>(() => new LogsService.LogsServiceClient(_channel).ExportAsync(Request(logs)).ResponseAsync).WaitAsync(Wait);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("over Buffer_Max_Size (4096)", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_host.Sink.Chunks);
    }

    [Fact]
    public async Task The_gateway_Ingest_service_is_not_served_on_an_opentelemetry_endpoint()
    {
        var batch = new EventBatch { Tag = "x" };
        batch.Events.Add(new Event { Body = { ["a"] = new Value { IntValue = 1 } } });

        var error = await Assert.ThrowsAsync<RpcException>(() => new Ingest.IngestClient(_channel).PushAsync(batch).ResponseAsync).WaitAsync(Wait);

        Assert.Equal(StatusCode.Unimplemented, error.StatusCode);
        Assert.Contains("[INPUT] Name gateway_grpc", error.Status.Detail, StringComparison.Ordinal);
    }

    private static ExportLogsServiceRequest Request(params LogRecord[] logs)
    {
        var resource = new Resource();
        resource.Attributes.Add(Attribute("service.name", new AnyValue { StringValue = "billing" }));
        resource.Attributes.Add(Attribute("k8s.pod.uid", new AnyValue { IntValue = 42 }));
        var scope = new ScopeLogs { Scope = new InstrumentationScope { Name = "Billing.Worker", Version = "1.2" } };
        scope.LogRecords.AddRange(logs);
        var resourceLogs = new ResourceLogs { Resource = resource };
        resourceLogs.ScopeLogs.Add(scope);
        var request = new ExportLogsServiceRequest();
        request.ResourceLogs.Add(resourceLogs);
        return request;
    }

    private static KeyValue Attribute(string key, AnyValue value) => new() { Key = key, Value = value };
}
