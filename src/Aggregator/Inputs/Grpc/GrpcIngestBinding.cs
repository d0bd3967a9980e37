using System.Diagnostics.CodeAnalysis;
using Gateway.Engine.Pipeline;
using Grpc.Core;
using Microsoft.AspNetCore.Connections.Features;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>
/// What one gRPC input endpoint feeds: its options, its input sink, its counters and (when it asks for tokens or
/// client certificates) its authenticator. The endpoint's connection middleware puts it into the connection items
/// (see <see cref="GrpcInputKestrelExtensions"/>), which is how a service instance shared by all endpoints knows
/// which input a call arrived on.
/// </summary>
internal sealed record GrpcIngestBinding(GrpcInputOptions Options, IChunkSink Sink, GrpcInputMetrics Metrics)
{
    public GrpcCallAuthenticator? Authenticator { get; init; }

    public static bool TryResolve(ServerCallContext context, [NotNullWhen(true)] out GrpcIngestBinding? binding)
    {
        ArgumentNullException.ThrowIfNull(context);
        var items = context.GetHttpContext().Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is not null && items.TryGetValue(typeof(GrpcIngestBinding), out var value) && value is GrpcIngestBinding found)
        {
            binding = found;
            return true;
        }

        binding = null;
        return false;
    }

    /// <summary>The call's binding, if its endpoint serves <paramref name="protocol"/>; else Unimplemented.</summary>
    public static GrpcIngestBinding Resolve(ServerCallContext context, GrpcInputProtocol protocol)
    {
        if (TryResolve(context, out var binding) && binding.Options.Protocol == protocol)
        {
            return binding;
        }

        // A call on any other endpoint (the [SERVICE] HTTP port, or the other protocol's input) is not served.
        var (service, plugin) = protocol == GrpcInputProtocol.OtlpLogs
            ? ("opentelemetry.proto.collector.logs.v1.LogsService", GrpcInputOptions.OtlpPluginName)
            : ("gateway.v1.Ingest", GrpcInputOptions.PluginName);
        throw new RpcException(new Status(StatusCode.Unimplemented, $"{service} is served only on an [INPUT] Name {plugin} endpoint"));
    }
}
