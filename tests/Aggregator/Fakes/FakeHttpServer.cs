using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Tests.Fakes;

/// <summary>
/// The Kestrel host every HTTP fake runs on: 127.0.0.1 only, an ephemeral port, no logging, optionally HTTPS with
/// a given certificate. The fakes differ only in their routes and a few Kestrel limits, so those are the parameters;
/// starting, finding the bound address and stopping live here once.
/// </summary>
internal sealed class FakeHttpServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeHttpServer(WebApplication app, string address)
    {
        _app = app;
        Url = address;
        Endpoint = new Uri(address.EndsWith('/') ? address : address + "/");
    }

    /// <summary>The bound address as Kestrel reports it (<c>http://127.0.0.1:PORT</c>, no trailing slash).</summary>
    public string Url { get; }

    /// <summary><see cref="Url"/> with a trailing slash, ready to be a client's base address.</summary>
    public Uri Endpoint { get; }

    /// <param name="routes">Maps the fake's handlers onto the built application.</param>
    /// <param name="certificate">Serve HTTPS with it; null = plain HTTP.</param>
    /// <param name="protocols">The listener's protocols; null keeps Kestrel's default.</param>
    /// <param name="configure">Further Kestrel settings (limits).</param>
    public static async Task<FakeHttpServer> StartAsync(
        Action<WebApplication> routes,
        X509Certificate2? certificate = null,
        HttpProtocols? protocols = null,
        Action<KestrelServerOptions>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen =>
            {
                if (protocols is { } chosen)
                {
                    listen.Protocols = chosen;
                }

                if (certificate is not null)
                {
                    listen.UseHttps(certificate);
                }
            });
            configure?.Invoke(kestrel);
        });
        var app = builder.Build();
        routes(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new FakeHttpServer(app, address);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
