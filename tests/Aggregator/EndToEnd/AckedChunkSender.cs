using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// A forward client for crash tests: sends numbered chunks as PackedForward with a chunk id and waits for each
/// ack, like Fluent Bit's out_forward with Require_ack_response. When the connection dies before the ack it
/// reconnects and sends the same chunk again, so it keeps an exact account of which chunks were acknowledged
/// and which were sent without an answer (those are the only ones a correct server may store twice).
/// </summary>
internal sealed class AckedChunkSender
{
    private readonly int _port;
    private readonly string _tag;
    private readonly int _recordsPerChunk;
    private readonly Lock _gate = new();
    private readonly HashSet<int> _acked = [];
    private readonly Dictionary<int, int> _unansweredAttempts = [];
    private readonly Func<int, string>? _logText;

    /// <param name="logText">The <c>log</c> field for a record's seq (default: a fixed padded line).</param>
    public AckedChunkSender(int port, string tag, int recordsPerChunk, Func<int, string>? logText = null)
    {
        _port = port;
        _tag = tag;
        _recordsPerChunk = recordsPerChunk;
        _logText = logText;
    }

    public int RecordsPerChunk => _recordsPerChunk;

    public int AckedCount
    {
        get
        {
            lock (_gate)
            {
                return _acked.Count;
            }
        }
    }

    public IReadOnlySet<int> Acked
    {
        get
        {
            lock (_gate)
            {
                return new HashSet<int>(_acked);
            }
        }
    }

    /// <summary>Chunk number → how many of its sends got no ack (connection lost first).</summary>
    public IReadOnlyDictionary<int, int> UnansweredAttempts
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<int, int>(_unansweredAttempts);
            }
        }
    }

    /// <summary>
    /// Sends chunks 0, 1, 2, ... until <paramref name="stop"/> is cancelled or <paramref name="maxChunks"/> are
    /// acknowledged; returns the number of chunks sent.
    /// </summary>
    public async Task<int> RunAsync(CancellationToken stop, int maxChunks = int.MaxValue)
    {
        var chunk = 0;
        var payload = new ArrayBufferWriter<byte>(_recordsPerChunk * 256);
        var message = new ArrayBufferWriter<byte>(_recordsPerChunk * 256 + 128);
        var ackBuffer = new byte[ForwardAck.MaxAckBytes];
        while (!stop.IsCancellationRequested && chunk < maxChunks)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync("127.0.0.1", _port, stop);
            }
            catch (SocketException)
            {
                // The aggregator is down (killed, restarting): retry shortly, as a real client's backoff would.
                await Task.Delay(100, CancellationToken.None);
                continue;
            }
            catch (OperationCanceledException)
            {
                break;
            }

            await using var stream = new NetworkStream(socket, ownsSocket: false);
            while (!stop.IsCancellationRequested && chunk < maxChunks)
            {
                BuildChunk(chunk, payload);
                var chunkId = ForwardMessageWriter.NewChunkId();
                message.ResetWrittenCount();
                ForwardMessageWriter.WritePackedForward(message, _tag, payload.WrittenSpan, _recordsPerChunk, chunkId);
                try
                {
                    await stream.WriteAsync(message.WrittenMemory, CancellationToken.None);
                    await ReadAckAsync(stream, ackBuffer, chunkId);
                }
                catch (Exception ex) when (ex is IOException or SocketException or TimeoutException)
                {
                    lock (_gate)
                    {
                        _unansweredAttempts[chunk] = _unansweredAttempts.GetValueOrDefault(chunk) + 1;
                    }

                    break; // reconnect and send the same chunk again
                }

                lock (_gate)
                {
                    _acked.Add(chunk);
                }

                chunk++;
            }
        }

        return chunk;
    }

    private static async Task ReadAckAsync(NetworkStream stream, byte[] buffer, string chunkId)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var filled = 0;
        while (true)
        {
            int read;
            try
            {
                read = await stream.ReadAsync(buffer.AsMemory(filled), timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("no ack within 60 s");
            }

            if (read == 0)
            {
                throw new IOException("connection closed before the ack");
            }

            filled += read;
            var status = ForwardAck.TryRead(new ReadOnlySequence<byte>(buffer, 0, filled), out var acked, out _, out var error);
            if (status == ForwardReadStatus.NeedMoreData)
            {
                continue;
            }

            if (status == ForwardReadStatus.Error || acked != chunkId)
            {
                throw new InvalidOperationException($"bad ack: {error ?? acked} (expected {chunkId})");
            }

            return;
        }
    }

    private void BuildChunk(int chunk, ArrayBufferWriter<byte> output)
    {
        output.ResetWrittenCount();
        var time = EventTime.Now();
        var chunkText = chunk.ToString(CultureInfo.InvariantCulture);
        for (var i = 0; i < _recordsPerChunk; i++)
        {
            var seq = (chunk * _recordsPerChunk) + i;
            EventWriter.WriteEvent(output, time,
            [
                new("chunk", chunkText),
                new("seq", seq.ToString(CultureInfo.InvariantCulture)),
                new("log", _logText?.Invoke(seq) ?? "crash-test record with some padding to look like a real log line ..........."),
            ]);
        }
    }
}
