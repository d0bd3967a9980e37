using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace Gateway.Aggregator.Hosting;

/// <summary>
/// Metrics export: the <c>Gateway</c> meter every stage reports to, plus runtime (the built-in
/// <c>System.Runtime</c> meter), process and Kestrel metrics; scraped as Prometheus text on <c>/metrics</c> and
/// pushed over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (the standard OpenTelemetry variable, so the
/// exporter's own env settings — protocol, headers, interval — apply unchanged).
/// </summary>
internal static class AggregatorTelemetry
{
    public const string GatewayMeterName = "Gateway";
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    public static IServiceCollection AddAggregatorTelemetry(this IServiceCollection services, string serviceVersion, string? otlpEndpoint)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("gateway-aggregator", serviceVersion: serviceVersion))
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter(GatewayMeterName, "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel")
                    .AddProcessInstrumentation()
                    .AddPrometheusExporter();
                if (!string.IsNullOrWhiteSpace(otlpEndpoint))
                {
                    metrics.AddOtlpExporter();
                }
            });
        return services;
    }
}
