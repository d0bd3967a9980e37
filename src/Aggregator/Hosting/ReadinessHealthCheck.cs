using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Gateway.Aggregator.Hosting;

/// <summary>grpc.health.v1's answer: SERVING exactly when <c>/readyz</c> says ready (listeners up, engine replayed).</summary>
internal sealed class ReadinessHealthCheck(ReadinessRegistry readiness) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(readiness.IsReady(out var notReady)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy($"not ready: {string.Join(", ", notReady)}"));
}
