using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Gateway.Protos.Client;

/// <summary><c>logging.AddGateway(...)</c>: ship this app's logs to a Gateway aggregator over gRPC.</summary>
public static class GatewayLoggingBuilderExtensions
{
    /// <summary>Adds the <see cref="GatewayLoggerProvider"/> configured by <paramref name="configure"/>.</summary>
    public static ILoggingBuilder AddGateway(this ILoggingBuilder builder, Action<GatewayLoggerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new GatewayLoggerOptions();
        configure(options);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILoggerProvider, GatewayLoggerProvider>(_ => new GatewayLoggerProvider(options)));
        return builder;
    }

    /// <summary>Adds the provider sending to <paramref name="address"/> (e.g. <c>http://127.0.0.1:24225</c>) under <paramref name="tag"/>.</summary>
    public static ILoggingBuilder AddGateway(this ILoggingBuilder builder, Uri address, string tag = "app") =>
        builder.AddGateway(options =>
        {
            options.Address = address;
            options.Tag = tag;
        });
}
