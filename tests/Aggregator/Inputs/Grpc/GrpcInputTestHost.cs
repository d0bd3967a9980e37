using System.Diagnostics.Metrics;
using System.Net;
using Gateway.Aggregator.Hosting;
using Gateway.Aggregator.Inputs.Grpc;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Tests.Inputs.Grpc;

/// <summary>
/// One gRPC input (gateway_grpc or opentelemetry) served in-process on 127.0.0.1 with a free port, wired as the
/// aggregator wires it (AddGrpcServices, CreateGrpcBinding, MapGrpcServices) into a <see cref="StoredChunks"/> sink.
/// </summary>
internal sealed class GrpcInputTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcInputTestHost(WebApplication app, StoredChunks sink, int port, bool tls)
    {
        _app = app;
        Sink = sink;
        Address = new Uri($"{(tls ? "https" : "http")}://127.0.0.1:{port}");
    }

    public StoredChunks Sink { get; }

    public Uri Address { get; }

    public static async Task<GrpcInputTestHost> StartAsync(GrpcInputOptions options, int port = 0)
    {
        options = options with { Listen = "127.0.0.1", Port = port };
        var sink = new StoredChunks();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(new ReadinessRegistry());
        AggregatorApplication.AddGrpcServices(builder.Services, [new GrpcInputPlan(new ConfigSection(SectionKind.Input, "INPUT", new ConfigLocation("test.conf", 1), []), options)]);
        ListenOptions? endpoint = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var services = kestrel.ApplicationServices;
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("test");
            endpoint = kestrel.ListenGatewayGrpc(AggregatorApplication.CreateGrpcBinding(options, sink, services.GetRequiredService<IMeterFactory>(), logger));
        });
        var app = builder.Build();
        AggregatorApplication.MapGrpcServices(app);
        await app.StartAsync();
        return new GrpcInputTestHost(app, sink, ((IPEndPoint)endpoint!.EndPoint).Port, options.Tls is not null);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A sink that keeps a copy of every appended chunk (chunk bytes are only lent to the sink).</summary>
internal sealed class StoredChunks : IChunkSink
{
    private readonly List<EventChunk> _chunks = [];

    public IReadOnlyList<EventChunk> Chunks
    {
        get
        {
            lock (_chunks)
            {
                return _chunks.ToArray();
            }
        }
    }

    public ValueTask AppendAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        lock (_chunks)
        {
            _chunks.Add(new EventChunk(chunk.Tag, chunk.Events.ToArray(), chunk.EventCount, chunk.NodeName));
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Every stored event as (tag, time, record as JSON) in arrival order.</summary>
    public List<(string Tag, EventTime Time, string Json)> Events()
    {
        var result = new List<(string, EventTime, string)>();
        foreach (var chunk in Chunks)
        {
            var reader = new EventReader(chunk.Events);
            while (reader.TryRead(out var view))
            {
                result.Add((chunk.Tag, view.Time, Gateway.Tests.Shared.JsonMsgpack.ToJson(view.Record.Span)));
            }
        }

        return result;
    }
}
