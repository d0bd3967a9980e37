// Gateway.Sample: an app that logs to a Gateway aggregator over gRPC, the two ways an app can.
//   1. ILogger with the Gateway provider (logging.AddGateway): gateway.v1.Ingest on a gateway_grpc input.
//   2. ILogger with the OpenTelemetry SDK's OTLP/gRPC exporter: an opentelemetry input (--otlp).
// Usage: Gateway.Sample [--address http://127.0.0.1:24225] [--otlp http://127.0.0.1:4317] [--count 5]
//                       [--tag sample.app] [--token TOKEN]
using System.Globalization;
using Gateway.Protos.Client;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Resources;

var address = new Uri("http://127.0.0.1:24225");
Uri? otlp = null;
var count = 5;
var tag = "sample.app";
string? token = null;
for (var i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--address": address = new Uri(args[i + 1]); break;
        case "--otlp": otlp = new Uri(args[i + 1]); break;
        case "--count": count = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
        case "--tag": tag = args[i + 1]; break;
        case "--token": token = args[i + 1]; break;
        default:
            Console.Error.WriteLine($"Gateway.Sample: unknown option {args[i]}");
            return 2;
    }
}

// 1. The Gateway logging provider: entries are batched and sent on one gRPC stream. A hosted app writes
//    builder.Logging.AddGateway(o => o.Address = ...); here the provider is built by hand so the sample can print
//    how many entries the aggregator acknowledged (= stored) once disposing it flushed the queue.
var provider = new GatewayLoggerProvider(new GatewayLoggerOptions
{
    Address = address,
    BearerToken = token,
    Tag = tag,
    FlushInterval = TimeSpan.FromMilliseconds(200),
    ShutdownTimeout = TimeSpan.FromSeconds(30),
});
using (var factory = LoggerFactory.Create(logging => logging.AddProvider(provider)))
{
    var logger = factory.CreateLogger("Sample.Checkout");
    for (var i = 0; i < count; i++)
    {
        SampleLog.OrderPlaced(logger, $"order-{i}", 19.99m + i, "eu-west-1");
    }
}

provider.Dispose();
Console.WriteLine($"Gateway.Sample: {provider.Sent} of {count} entries acknowledged by {address} (gateway.v1.Ingest, tag {tag})");
if (provider.Sent != count)
{
    return 1;
}

// 2. The OpenTelemetry SDK's OTLP/gRPC log exporter; disposing the factory flushes the batch processor.
if (otlp is not null)
{
    using (var factory = LoggerFactory.Create(logging => logging.AddOpenTelemetry(otel =>
    {
        otel.SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("gateway-sample"));
        otel.IncludeFormattedMessage = true;
        otel.AddOtlpExporter(exporter =>
        {
            exporter.Endpoint = otlp;
            exporter.Protocol = OtlpExportProtocol.Grpc;
            if (token is not null)
            {
                exporter.Headers = "authorization=Bearer " + token;
            }
        });
    })))
    {
        var logger = factory.CreateLogger("Sample.Billing");
        for (var i = 0; i < count; i++)
        {
            SampleLog.InvoiceSent(logger, 1000 + i);
        }
    }

    Console.WriteLine($"Gateway.Sample: logged {count} entries to {otlp} (OTLP/gRPC LogsService/Export)");
}

return 0;

internal static partial class SampleLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "order {OrderId} placed for {Amount} in {Region}")]
    public static partial void OrderPlaced(ILogger logger, string orderId, decimal amount, string region);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "invoice {InvoiceId} sent")]
    public static partial void InvoiceSent(ILogger logger, int invoiceId);
}
