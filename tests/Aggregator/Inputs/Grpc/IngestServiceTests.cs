using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net;
using Gateway.Aggregator.Hosting;
using Gateway.Aggregator.Inputs.Grpc;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Protos.V1;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using MessagePack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Tests.Inputs.Grpc;

/// <summary>The gateway_grpc input served in-process on 127.0.0.1 (free port) into a collecting sink.</summary>
public sealed class IngestServiceTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly CollectingSink _sink = new();
    private WebApplication? _app;
    private GrpcChannel? _channel;
    private Ingest.IngestClient _client = null!;

    public async Task InitializeAsync()
    {
        var options = new GrpcInputOptions { Listen = "127.0.0.1", Port = 0, TagPrefix = "node.", MaxBatchBytes = 4096 };
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        AggregatorApplication.AddGrpcServices(builder.Services, [new GrpcInputPlan(new ConfigSection(SectionKind.Input, "INPUT", new ConfigLocation("test.conf", 1), []), options)]);
        ListenOptions? endpoint = null;
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var metrics = new GrpcInputMetrics(kestrel.ApplicationServices.GetRequiredService<IMeterFactory>(), options.Name);
            endpoint = kestrel.ListenGatewayGrpc(new GrpcIngestBinding(options, _sink, metrics));
        });
        _app = builder.Build();
        _app.MapGrpcService<IngestService>();
        await _app.StartAsync();
        var port = ((IPEndPoint)endpoint!.EndPoint).Port;
        _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        _client = new Ingest.IngestClient(_channel);
    }

    public async Task DisposeAsync()
    {
        _sink.Release();
        _channel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Chunk_batch_is_stored_with_prefixed_tag_and_node_then_acknowledged()
    {
        _sink.Release();
        using var call = _client.Stream();

        await call.RequestStream.WriteAsync(ChunkBatch("7", "app.web", "node-a", "one", "two"));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Wait));

        Assert.Equal("7", call.ResponseStream.Current.BatchId);
        Assert.Equal(2u, call.ResponseStream.Current.Accepted);
        var stored = Assert.Single(_sink.Chunks);
        Assert.Equal("node.app.web", stored.Tag);
        Assert.Equal("node-a", stored.NodeName);
        Assert.Equal(["one", "two"], Messages(stored.Events));
        await call.RequestStream.CompleteAsync();
    }

    [Fact]
    public async Task Ack_is_sent_only_after_the_sink_stored_the_batch()
    {
        using var call = _client.Stream();
        await call.RequestStream.WriteAsync(ChunkBatch("1", "app", "node-a", "held"));
        await _sink.Entered.WaitAsync(Wait);

        // The sink holds the append (a full or slow buffer): no ack may have gone out.
        var ack = call.ResponseStream.MoveNext(CancellationToken.None);
        Assert.False(ack.IsCompleted);
        Assert.Empty(_sink.Chunks);

        _sink.Release();
        Assert.True(await ack.WaitAsync(Wait));
        Assert.Equal("1", call.ResponseStream.Current.BatchId);
        Assert.Single(_sink.Chunks);
        await call.RequestStream.CompleteAsync();
    }

    [Fact]
    public async Task Invalid_msgpack_is_refused_with_InvalidArgument_naming_the_batch_and_nothing_is_stored()
    {
        _sink.Release();
        var batch = new EventBatch { BatchId = "bad-1", Tag = "app", EventCount = 1, EventsMsgpack = ByteString.CopyFrom(0x92, 0xc1, 0x01) };

        var error = await Assert.ThrowsAsync<RpcException>(() => _client.PushAsync(batch).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("bad-1", error.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("invalid msgpack", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_sink.Chunks);
    }

    [Fact]
    public async Task Event_count_that_does_not_match_the_events_is_refused()
    {
        _sink.Release();
        var batch = ChunkBatch("c-1", "app", "node-a", "only one");
        batch.EventCount = 3;

        var error = await Assert.ThrowsAsync<RpcException>(() => _client.PushAsync(batch).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Contains("event_count is 3 but events_msgpack holds 1", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_sink.Chunks);
    }

    [Fact]
    public async Task Batch_larger_than_Buffer_Max_Size_is_refused_with_ResourceExhausted()
    {
        _sink.Release();
        var batch = ChunkBatch("big", "app", "node-a", new string('x', 5000));

        var error = await Assert.ThrowsAsync<RpcException>(() => _client.PushAsync(batch).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("Buffer_Max_Size (4096)", error.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_sink.Chunks);
    }

    [Fact]
    public async Task Per_event_batch_is_stored_as_one_chunk_per_tag_run_with_times_and_metadata()
    {
        _sink.Release();
        var batch = new EventBatch { BatchId = "e", NodeName = "node-b" };
        batch.Events.Add(new Event { Tag = "a", TimeUnixNano = 1_700_000_000_123_456_789, RecordMsgpack = ByteString.CopyFrom(Record("first")) });
        batch.Events.Add(new Event { Tag = "a", TimeUnixNano = 1_700_000_001_000_000_000, RecordMsgpack = ByteString.CopyFrom(Record("second")), MetadataMsgpack = ByteString.CopyFrom(0x80) });
        batch.Events.Add(new Event { Tag = "b", TimeUnixNano = 1_700_000_002_000_000_000, RecordMsgpack = ByteString.CopyFrom(Record("third")) });

        var ack = await _client.PushAsync(batch).ResponseAsync.WaitAsync(Wait);

        Assert.Equal(3u, ack.Accepted);
        Assert.Equal(2, _sink.Chunks.Count);
        Assert.Equal("node.a", _sink.Chunks[0].Tag);
        Assert.Equal(["first", "second"], Messages(_sink.Chunks[0].Events));
        Assert.Equal("node.b", _sink.Chunks[1].Tag);
        var reader = new EventReader(_sink.Chunks[0].Events);
        Assert.True(reader.TryRead(out var first));
        Assert.Equal(new EventTime(1_700_000_000, 123_456_789), first.Time);
    }

    private static EventBatch ChunkBatch(string id, string tag, string node, params string[] messages)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        foreach (var message in messages)
        {
            EventWriter.WriteEvent(ref writer, new EventTime(1_700_000_000, 0), Record(message));
        }

        writer.Flush();
        return new EventBatch
        {
            BatchId = id,
            Tag = tag,
            NodeName = node,
            EventCount = (uint)messages.Length,
            EventsMsgpack = ByteString.CopyFrom(buffer.WrittenSpan),
        };
    }

    private static byte[] Record(string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(buffer);
        writer.WriteMapHeader(1);
        writer.Write("log");
        writer.Write(message);
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    private static List<string> Messages(ReadOnlyMemory<byte> events)
    {
        var result = new List<string>();
        var reader = new EventReader(events);
        while (reader.TryRead(out var view))
        {
            var record = new MessagePackReader(view.Record);
            record.ReadMapHeader();
            record.ReadString();
            result.Add(record.ReadString()!);
        }

        return result;
    }

    /// <summary>Keeps copies of what was appended; appends wait until <see cref="Release"/> (a full buffer).</summary>
    private sealed class CollectingSink : IChunkSink
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly List<EventChunk> _chunks = [];

        public Task Entered => _entered.Task;

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

        public void Release() => _released.TrySetResult();

        public async ValueTask AppendAsync(EventChunk chunk, CancellationToken cancellationToken)
        {
            _entered.TrySetResult();
            await _released.Task.WaitAsync(cancellationToken);
            lock (_chunks)
            {
                _chunks.Add(new EventChunk(chunk.Tag, chunk.Events.ToArray(), chunk.EventCount, chunk.NodeName));
            }
        }
    }
}
