using System.Net;
using System.Threading.Channels;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Hosting;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using MessagePack;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Gateway.Aggregator.Tests.Hosting;

public sealed class AggregatorEngineHostingTests
{
    private sealed class RecordingOutput(string name) : IOutput
    {
        public Channel<EventChunk> Flushed { get; } = Channel.CreateUnbounded<EventChunk>();

        public string Name { get; } = name;

        public ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
        {
            // The chunk's memory is only valid during the call: keep a copy.
            Flushed.Writer.TryWrite(chunk.WithEvents(chunk.Events.ToArray(), chunk.EventCount));
            return ValueTask.FromResult(FlushResult.Ok);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private static ConfigDocument ServiceAndOutput()
    {
        static ConfigLocation At(int line) => new("host.conf", line);
        var service = new ConfigSection(SectionKind.Service, "SERVICE", At(1),
        [
            new ConfigEntry("HTTP_Server", "On", At(2)),
            new ConfigEntry("HTTP_Listen", "127.0.0.1", At(3)),
            new ConfigEntry("HTTP_Port", "0", At(4)),
            new ConfigEntry("Grace", "1", At(5)),
        ]);
        var output = new ConfigSection(SectionKind.Output, "OUTPUT", At(7),
        [
            new ConfigEntry("Name", "recording", At(8)),
            new ConfigEntry("Match", "app.*", At(9)),
        ]);
        return new ConfigDocument("host.conf", [service, output], []);
    }

    [Fact]
    public async Task Engine_runs_inside_the_host_routes_to_configured_output_and_gates_readiness()
    {
        var config = ServiceAndOutput();
        var service = ServiceSettings.FromConfig(config, new List<ConfigDiagnostic>());
        var output = new RecordingOutput("recording.0");
        var sections = new List<ConfigSection>();
        await using var app = AggregatorApplication.Build(new AggregatorHostSettings
        {
            Config = config,
            Service = service,
            Quiet = true,
            OutputFactory = (section, context) =>
            {
                sections.Add(section);
                Assert.Equal("recording.0", context.InstanceName);
                return output;
            },
        });

        await app.StartAsync();
        var engine = app.Services.GetRequiredService<AggregatorEngine>();
        await engine.Ready.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("recording", Assert.Single(sections).PluginName);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{AggregatorApplication.BoundPort(app, 0)}") };
        var ready = await http.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        var events = new System.Buffers.ArrayBufferWriter<byte>();
        EventWriter.WriteEvent(events, new EventTime(1_700_000_000, 5), [new("msg", "through the host")]);
        await engine.AppendAsync(new EventChunk("app.web", events.WrittenMemory, 1), CancellationToken.None);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var flushed = await output.Flushed.Reader.ReadAsync(timeout.Token);
        Assert.Equal("app.web", flushed.Tag);
        var reader = new EventReader(flushed.Events);
        Assert.True(reader.TryRead(out var view));
        Assert.Equal(new EventTime(1_700_000_000, 5), view.Time);
        var record = MessagePackSerializer.ConvertToJson(view.Record);
        Assert.Equal("{\"msg\":\"through the host\"}", record);

        await app.StopAsync();
        var afterStop = await Record.ExceptionAsync(() => http.GetAsync(new Uri("/readyz", UriKind.Relative)));
        Assert.NotNull(afterStop);
    }
}
