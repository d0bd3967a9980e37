using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>Registers gateway_grpc inputs as Kestrel endpoints (one per <c>[INPUT] Name gateway_grpc</c>).</summary>
internal static class GrpcInputKestrelExtensions
{
    /// <summary>
    /// Adds an HTTP/2 cleartext (h2c) endpoint on Listen:Port whose connections carry <paramref name="binding"/>,
    /// so <see cref="IngestService"/> stores what arrives there into that input's sink. The service itself must be
    /// mapped once with <c>MapGrpcService&lt;IngestService&gt;()</c>. Port 0 picks a free port (see the returned
    /// <see cref="ListenOptions"/> after start).
    /// </summary>
    public static ListenOptions ListenGatewayGrpc(this KestrelServerOptions kestrel, GrpcIngestBinding binding)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(binding);
        ListenOptions? endpoint = null;
        void Configure(ListenOptions listen)
        {
            endpoint = listen;

            // h2c only: gRPC needs HTTP/2, and without TLS there is no ALPN to negotiate it.
            listen.Protocols = HttpProtocols.Http2;
            listen.Use(next => connection =>
            {
                connection.Items[typeof(GrpcIngestBinding)] = binding;
                return next(connection);
            });
        }

        var options = binding.Options;
        if (string.Equals(options.Listen, "localhost", StringComparison.OrdinalIgnoreCase))
        {
            kestrel.ListenLocalhost(options.Port, Configure);
        }
        else
        {
            kestrel.Listen(IPAddress.Parse(options.Listen), options.Port, Configure);
        }

        return endpoint!;
    }
}
