using System.Globalization;
using Gateway.Protos.Client;
using Gateway.Protos.V1;
using Google.Protobuf;

namespace Gateway.Load;

/// <summary>One load connection: sends <c>count</c> prepared records and returns once they are acknowledged.</summary>
internal abstract class LoadConnection : IAsyncDisposable
{
    public static async Task<LoadConnection> ConnectAsync(LoadOptions options, PreparedBatch batch, CancellationToken cancellationToken) =>
        options.Protocol switch
        {
            "grpc" => new GrpcLoadConnection(options, BuildStructured(batch, options.Tag)),
            "grpc-chunk" => new GrpcLoadConnection(options, BuildChunks(batch, options.Tag)),
            _ => new ForwardLoadConnection(options, batch, await AckedForwardConnection.ConnectAsync(options.Host, options.Port, cancellationToken).ConfigureAwait(false)),
        };

    public abstract Task SendAsync(string tag, int count, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    /// <summary>The prepared records as structured-body events (stream, logtag, seq, log), as an app sends them.</summary>
    private static Func<int, EventBatch> BuildStructured(PreparedBatch batch, string tag)
    {
        var time = GatewayValues.ToUnixNanoseconds(DateTimeOffset.UtcNow);
        var events = new Event[batch.Count];
        for (var i = 0; i < events.Length; i++)
        {
            var e = new Event { TimeUnixNano = time };
            e.Body["stream"] = new Value { StringValue = "stdout" };
            e.Body["logtag"] = new Value { StringValue = "F" };
            e.Body["seq"] = new Value { StringValue = i.ToString(CultureInfo.InvariantCulture) };
            e.Body["log"] = new Value { StringValue = $"GET /api/v1/items?id={i} 200 {batch.Padding}" };
            events[i] = e;
        }

        var full = new EventBatch { Tag = tag };
        full.Events.AddRange(events);
        return count =>
        {
            if (count == events.Length)
            {
                return full;
            }

            var partial = new EventBatch { Tag = tag };
            partial.Events.AddRange(events.AsSpan(0, count).ToArray());
            return partial;
        };
    }

    /// <summary>The prepared msgpack events as one events_msgpack chunk, the shipper's form.</summary>
    private static Func<int, EventBatch> BuildChunks(PreparedBatch batch, string tag)
    {
        var full = new EventBatch { Tag = tag, EventCount = (uint)batch.Count, EventsMsgpack = ByteString.CopyFrom(batch.Events.Span) };
        return count => count == batch.Count
            ? full
            : new EventBatch { Tag = tag, EventCount = (uint)count, EventsMsgpack = ByteString.CopyFrom(batch.Prefix(count).Span) };
    }

    private sealed class ForwardLoadConnection(LoadOptions options, PreparedBatch batch, AckedForwardConnection connection) : LoadConnection
    {
        public override Task SendAsync(string tag, int count, CancellationToken cancellationToken) =>
            connection.SendAsync(tag, count == options.Batch ? batch.Events : batch.Prefix(count), count, options.AckTimeout, cancellationToken);

        public override ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    /// <summary>A GatewayLogClient (own HTTP/2 connection) sending one batch at a time and awaiting its ack.</summary>
    private sealed class GrpcLoadConnection(LoadOptions options, Func<int, EventBatch> batchOf) : LoadConnection
    {
        private readonly GatewayLogClient _client = new(new GatewayLogClientOptions { Address = new Uri($"http://{options.Host}:{options.Port}"), DefaultTag = options.Tag });
        private long _batchId;

        public override async Task SendAsync(string tag, int count, CancellationToken cancellationToken)
        {
            var batch = batchOf(count);
            batch.Tag = tag;

            // The prepared batch is reused; the write completed before SendAsync returns, so the next id is safe to set.
            batch.BatchId = (++_batchId).ToString(CultureInfo.InvariantCulture);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.AckTimeout);
            var ack = await _client.SendAsync(batch, timeout.Token).ConfigureAwait(false);
            if (ack.Accepted != count)
            {
                throw new IOException($"batch {batch.BatchId}: the aggregator accepted {ack.Accepted} of {count} records");
            }
        }

        public override ValueTask DisposeAsync() => _client.DisposeAsync();
    }
}
