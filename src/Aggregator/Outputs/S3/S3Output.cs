using System.Buffers;
using System.IO.Compression;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.RecordAccessor;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging;
using ZstdSharp;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>
/// <c>[OUTPUT] s3</c>: each flush's records become JSON lines (Fluent Bit's JSON, <c>json_date_key</c> first, or
/// just the <c>log_key</c> value), compressed as one gzip member / zstd frame, and appended to the tag's object
/// in store_dir with an fsync. Then the flush is Ok: the records are safe on local disk and the output owns them,
/// as with Fluent Bit, whose out_s3 also acknowledges once data is in its store. Holding the engine's chunk until
/// the upload instead would pin the buffer for up to <c>upload_timeout</c> (10 minutes by default) and re-send a
/// whole object's chunks on any failure. The <see cref="S3Uploader"/> moves objects to S3 by size or timeout.
/// Concatenated gzip members and zstd frames are one valid stream, so parts and objects decompress as a whole.
/// </summary>
internal sealed class S3Output : IOutput
{
    [ThreadStatic]
    private static Compressor? t_zstd;

    private readonly S3OutputSettings _settings;
    private readonly S3Store _store;
    private readonly S3Uploader? _uploader;
    private readonly IS3ObjectClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly JsonRecordFormatter _formatter;
    private readonly RecordAccessor? _logKey;
    private readonly FluentJsonFlags _jsonFlags;
    private readonly OutputMetrics _outputMetrics;
    private int _disposed;

    /// <param name="start">False for <c>--dry-run</c>: no store_dir, no uploader.</param>
    /// <param name="runUploaderLoop">False in tests that drive <see cref="Uploader"/> pass by pass.</param>
    public S3Output(string name, S3OutputSettings settings, IS3ObjectClient client, OutputContext context, ILogger logger, bool start, bool runUploaderLoop = true)
    {
        Name = name;
        _settings = settings;
        _client = client;
        _time = context.TimeProvider;
        _logger = logger;
        _jsonFlags = context.JsonFlags;
        _formatter = new JsonRecordFormatter(JsonRecordLayout.JsonLines, settings.JsonDateFormat, settings.JsonDateKey, _jsonFlags);
        _logKey = settings.LogKey is null ? null : RecordAccessor.Parse("$" + settings.LogKey);
        _outputMetrics = new OutputMetrics(name);
        Metrics = new S3Metrics(name);
        _store = new S3Store(settings, name, logger);
        if (start)
        {
            _store.Open();
            _uploader = new S3Uploader(name, settings, _store, client, _time, logger, Metrics, _outputMetrics);
            if (runUploaderLoop)
            {
                _uploader.Start();
            }
        }
    }

    public string Name { get; }

    internal S3Metrics Metrics { get; }

    internal S3Store Store => _store;

    internal S3Uploader? Uploader => _uploader;

    public ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        if (_uploader is null)
        {
            throw new InvalidOperationException("this s3 output was built for validation only");
        }

        Metrics.Received(chunk.EventCount);
        using var lines = new PooledBufferWriter(Math.Max(4096, chunk.ByteLength * 2));
        int records;
        long firstSeconds;
        try
        {
            (records, firstSeconds) = WriteLines(chunk, lines);
        }
        catch (Exception ex) when (ex is EventFormatException or MsgpackFormatException or MessagePack.MessagePackSerializationException)
        {
            S3Log.MalformedChunk(_logger, Name, chunk.Tag, ex.Message);
            Metrics.Dropped(chunk.EventCount);
            return ValueTask.FromResult(_outputMetrics.Failed(FlushResult.Error));
        }

        if (records < chunk.EventCount)
        {
            Metrics.Dropped(chunk.EventCount - records);
        }

        if (records == 0)
        {
            return ValueTask.FromResult(FlushResult.Ok);
        }

        using var compressed = _settings.Compression == S3Compression.None ? null : new PooledBufferWriter(lines.WrittenCount / 4 + 1024);
        var payload = compressed is null ? lines.WrittenSpan : Compress(lines.WrittenSpan, compressed);
        S3AppendResult result;
        bool ready;
        try
        {
            result = _store.Append(chunk.Tag, firstSeconds, payload, records, _time.GetUtcNow(), out ready);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            S3Log.StoreWriteFailed(_logger, ex, Name, _settings.StoreDirectory, chunk.Tag);
            return ValueTask.FromResult(_outputMetrics.Failed(FlushResult.Retry));
        }

        if (result == S3AppendResult.LimitReached)
        {
            S3Log.StoreFull(_logger, Name, _settings.StoreDirectoryLimit, chunk.Tag);
            _uploader.Wake();
            return ValueTask.FromResult(_outputMetrics.Failed(FlushResult.Retry));
        }

        Metrics.Stored(records);
        if (ready)
        {
            _uploader.Wake();
        }

        return ValueTask.FromResult(FlushResult.Ok);
    }

    /// <summary>Uploads what it can within the shutdown grace; the host may call this more than once.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_uploader is not null)
        {
            await _uploader.DisposeAsync().ConfigureAwait(false);
        }

        _store.Dispose();
        _client.Dispose();
    }

    /// <summary>The chunk's records as JSON lines; returns how many were written and the first one's time.</summary>
    private (int Records, long FirstSeconds) WriteLines(EventChunk chunk, PooledBufferWriter output)
    {
        var reader = new EventReader(chunk.Events);
        var records = 0;
        long firstSeconds = -1;
        while (reader.TryRead(out var view))
        {
            if (firstSeconds < 0)
            {
                firstSeconds = (long)view.Time.Seconds;
            }

            if (_logKey is null)
            {
                _formatter.WriteRecord(view, output);
            }
            else
            {
                var record = view.Record.Span;
                if (!_logKey.TryGetValue(record, out var value))
                {
                    S3Log.LogKeyMissing(_logger, Name, chunk.Tag, _settings.LogKey!);
                    continue;
                }

                if (value.IsString)
                {
                    output.Write(value.Payload(record));
                }
                else
                {
                    FluentJson.WriteValue(value.Encoded(record), output, _jsonFlags);
                }
            }

            output.Write("\n"u8);
            records++;
        }

        return (records, Math.Max(0, firstSeconds));
    }

    private ReadOnlySpan<byte> Compress(ReadOnlySpan<byte> input, PooledBufferWriter output)
    {
        if (_settings.Compression == S3Compression.Zstd)
        {
            var zstd = t_zstd ??= new Compressor(Compressor.DefaultCompressionLevel);
            var span = output.GetSpan(Compressor.GetCompressBound(input.Length));
            var written = zstd.Wrap(input, span);
            output.Advance(written);
            return output.WrittenSpan;
        }

        using (var gzip = new GZipStream(new BufferWriterStream(output), CompressionLevel.Optimal, leaveOpen: false))
        {
            gzip.Write(input);
        }

        return output.WrittenSpan;
    }

    /// <summary>Lets GZipStream write straight into a pooled buffer.</summary>
    private sealed class BufferWriterStream(IBufferWriter<byte> destination) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(ReadOnlySpan<byte> buffer) => destination.Write(buffer);

        public override void Write(byte[] buffer, int offset, int count) => destination.Write(buffer.AsSpan(offset, count));

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
