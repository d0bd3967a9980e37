using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Gateway.Aggregator.Outputs;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using Gateway.Tests.Shared;
using MessagePack;

namespace Gateway.Aggregator.Tests.Outputs;

public sealed class ForwardOutputTests
{
    /// <summary>Accepts connections on 127.0.0.1, records (tag, entries) of each PackedForward message and acks it.</summary>
    private sealed class AckingServer : IAsyncDisposable
    {
        private readonly LoopbackTcpServer _server;

        public AckingServer()
        {
            _server = new LoopbackTcpServer(ServeAsync);
        }

        public int Port => _server.Port;

        public ConcurrentQueue<(string Tag, byte[] Entries)> Messages { get; } = new();

        public ValueTask DisposeAsync() => _server.DisposeAsync();

        private async Task ServeAsync(TcpClient client, int connection, CancellationToken stopping)
        {
            var stream = client.GetStream();
            using var reader = new MessagePackStreamReader(stream, leaveOpen: true);
            while (await reader.ReadAsync(stopping) is { } frame)
            {
                var (tag, entries, chunk) = Decode(frame);
                Messages.Enqueue((tag, entries));
                if (chunk is not null)
                {
                    var ack = new ArrayBufferWriter<byte>();
                    ForwardAck.Write(ack, chunk);
                    await stream.WriteAsync(ack.WrittenMemory, stopping);
                }
            }
        }

        private static (string Tag, byte[] Entries, string? Chunk) Decode(ReadOnlySequence<byte> frame)
        {
            var reader = new MessagePackReader(frame);
            var length = reader.ReadArrayHeader();
            var tag = reader.ReadString()!;
            var entries = reader.ReadBytes()!.Value.ToArray();
            string? chunk = null;
            if (length == 3)
            {
                var count = reader.ReadMapHeader();
                for (var i = 0; i < count; i++)
                {
                    if (reader.ReadString() == "chunk")
                    {
                        chunk = reader.ReadString();
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
            }

            return (tag, entries, chunk);
        }
    }

    private static IOutput Create(int port, params (string, string)[] options) =>
        OutputFactory.Create(
            OutputTestData.Section([("Name", "forward"), ("Match", "*"), ("Host", "127.0.0.1"), ("Port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)), .. options]),
            new OutputContext { InstanceName = "forward.0" });

    [Fact]
    public async Task V2_events_are_sent_as_time_record_pairs_with_the_tag_override_and_acked()
    {
        await using var server = new AckingServer();
        await using var output = Create(server.Port, ("Require_ack_response", "on"), ("Tag", "relayed"));

        var result = await output.FlushAsync(OutputTestData.Chunk("app", count: 2, withMetadata: true), CancellationToken.None);

        Assert.Equal(FlushResult.Ok, result);
        var (tag, entries) = Assert.Single(server.Messages);
        Assert.Equal("relayed", tag);
        Assert.Equal(OutputTestData.Chunk("app", count: 2).Events.ToArray(), entries);
    }

    [Fact]
    public async Task Retain_metadata_keeps_v2_events_byte_for_byte()
    {
        await using var server = new AckingServer();
        await using var output = Create(server.Port, ("Retain_metadata_in_forward_mode", "on"), ("Require_ack_response", "true"));
        var chunk = OutputTestData.Chunk("app", withMetadata: true);

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, CancellationToken.None));

        Assert.Equal(chunk.Events.ToArray(), Assert.Single(server.Messages).Entries);
    }

    [Fact]
    public async Task Time_as_integer_sends_whole_seconds()
    {
        await using var server = new AckingServer();
        await using var output = Create(server.Port, ("Time_as_Integer", "on"), ("Require_ack_response", "on"));

        Assert.Equal(FlushResult.Ok, await output.FlushAsync(OutputTestData.Chunk("app"), CancellationToken.None));

        var entries = Assert.Single(server.Messages).Entries;
        var reader = new MessagePackReader(entries);
        Assert.Equal(2, reader.ReadArrayHeader());
        Assert.Equal(MessagePackType.Integer, reader.NextMessagePackType);
        Assert.Equal(1_700_000_000L, reader.ReadInt64());
    }

    [Fact]
    public async Task Unreachable_server_asks_for_a_retry()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using var output = Create(port, ("Require_ack_response", "on"));

        Assert.Equal(FlushResult.Retry, await output.FlushAsync(OutputTestData.Chunk("app"), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public void An_upstream_file_that_does_not_exist_is_an_error_at_the_upstream_line()
    {
        var ex = Assert.Throws<ConfigException>(() => OutputFactory.Create(
            OutputTestData.Section([("Name", "forward"), ("Match", "*"), ("Upstream", "no-such-upstream.conf")]),
            new OutputContext { InstanceName = "forward.0" }));

        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Equal("test.conf", ex.Location.File);
    }

    [Theory]
    [InlineData("Compress", "lz4", "only 'gzip'")]
    [InlineData("Port", "99999", "Port")]
    [InlineData("Username", "bob", "must be set together")]
    [InlineData("tls.ca_file", "/nonexistent/ca.pem", "does not exist")]
    [InlineData("Upstream", "upstream.conf", "set either 'Host'")]
    public void Bad_forward_options_are_config_errors(string key, string value, string expected)
    {
        var ex = Assert.Throws<ConfigException>(() => Create(24224, (key, value)));
        Assert.Contains(expected, ex.Message);
        Assert.Equal("test.conf", ex.Location.File);
    }
}
