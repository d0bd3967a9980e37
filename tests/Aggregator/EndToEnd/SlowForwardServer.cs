using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using Gateway.Tests.Shared;
using MessagePack;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// A forward receiver standing in for a slow downstream (an overloaded collector): it acknowledges each message
/// only after <see cref="DelayPerMessage"/>, and records which <c>seq</c> values arrived. Loopback only.
/// </summary>
internal sealed class SlowForwardServer : IAsyncDisposable
{
    private readonly LoopbackTcpServer _server;
    private readonly int[] _seen;
    private long _records;
    private long _distinct;

    private readonly string _countedTag;

    /// <param name="countedTag">Only records of this tag are tracked by seq (others, e.g. a warm-up, are just acked).</param>
    /// <param name="expectedRecords">The seq range tracked: 0 to expectedRecords - 1.</param>
    public SlowForwardServer(string countedTag, int expectedRecords)
    {
        _countedTag = countedTag;
        _seen = new int[expectedRecords];
        _server = new LoopbackTcpServer(ServeAsync);
    }

    public int Port => _server.Port;

    /// <summary>How long each message waits before its ack; set to zero to let the backlog drain.</summary>
    public TimeSpan DelayPerMessage { get; set; } = TimeSpan.FromMilliseconds(20);

    public long RecordsReceived => Interlocked.Read(ref _records);

    public long DistinctRecords => Interlocked.Read(ref _distinct);

    public ValueTask DisposeAsync() => _server.DisposeAsync();

    private async Task ServeAsync(TcpClient client, int connection, CancellationToken stopping)
    {
        var stream = client.GetStream();
        var reader = PipeReader.Create(stream);
        var decoder = new ForwardMessageDecoder();
        var ack = new ArrayBufferWriter<byte>(128);
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(stopping);
                var buffer = result.Buffer;
                while (true)
                {
                    var status = decoder.TryDecode(buffer, out var message, out var error, out var consumed);
                    if (status == ForwardDecodeStatus.NeedMoreData)
                    {
                        break;
                    }

                    if (status == ForwardDecodeStatus.Error)
                    {
                        throw new InvalidDataException($"slow server got a bad message: {error}");
                    }

                    Count(message!);
                    buffer = buffer.Slice(consumed);
                    if (DelayPerMessage > TimeSpan.Zero)
                    {
                        await Task.Delay(DelayPerMessage, stopping);
                    }

                    if (message!.Options.Chunk is { } chunk)
                    {
                        ack.ResetWrittenCount();
                        ForwardAck.Write(ack, chunk);
                        await stream.WriteAsync(ack.WrittenMemory, stopping);
                    }
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private void Count(ForwardMessage message)
    {
        if (message.Tag != _countedTag)
        {
            return;
        }

        var events = new EventReader(message.Events);
        while (events.TryRead(out var view))
        {
            Interlocked.Increment(ref _records);
            var seq = ReadSeq(view.Record);
            if (seq >= 0 && seq < _seen.Length && Interlocked.Exchange(ref _seen[seq], 1) == 0)
            {
                Interlocked.Increment(ref _distinct);
            }
        }
    }

    private static int ReadSeq(ReadOnlyMemory<byte> record)
    {
        var reader = new MessagePackReader(record);
        var count = reader.ReadMapHeader();
        for (var i = 0; i < count; i++)
        {
            var key = reader.ReadString();
            if (key == "seq")
            {
                return int.Parse(reader.ReadString()!, System.Globalization.CultureInfo.InvariantCulture);
            }

            reader.Skip();
        }

        return -1;
    }
}
