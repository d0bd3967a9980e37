using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>
/// Runs the endpoint's <see cref="GrpcCallAuthenticator"/> before every call on a gRPC input's endpoint and
/// refuses with Unauthenticated. <c>grpc.health.v1.Health</c> stays open: Kubernetes gRPC probes and load
/// balancers carry no credentials, and health says nothing about the data.
/// </summary>
internal sealed class GrpcAuthenticationInterceptor : Interceptor
{
    private const string HealthServicePrefix = "/grpc.health.v1.Health/";
    private readonly ILogger<GrpcAuthenticationInterceptor> _logger;

    public GrpcAuthenticationInterceptor(ILogger<GrpcAuthenticationInterceptor> logger)
    {
        _logger = logger;
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authenticate(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authenticate(ServerCallContext context)
    {
        if (context.Method.StartsWith(HealthServicePrefix, StringComparison.Ordinal))
        {
            return;
        }

        if (!GrpcIngestBinding.TryResolve(context, out var binding) || binding.Authenticator is null)
        {
            return;
        }

        if (binding.Authenticator.Check(context) is { } reason)
        {
            binding.Metrics.Unauthenticated();
            GrpcAppLog.Unauthenticated(_logger, binding.Options.Name, context.Method, context.Peer, reason);
            throw new RpcException(new Status(StatusCode.Unauthenticated, $"input {binding.Options.Name}: {reason}"));
        }
    }
}
