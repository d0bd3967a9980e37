using System.Buffers;
using System.Text;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs;

/// <summary>Formats of Fluent Bit's stdout output.</summary>
internal enum StdoutFormat
{
    /// <summary><c>msgpack</c> (default): <c>[0] tag: [[sec.nsec, {meta}], {record}]</c> per event.</summary>
    Msgpack,

    Json,

    JsonLines,

    JsonStream,
}

/// <summary>
/// Fluent Bit's <c>stdout</c> output. A chunk is rendered into a pooled buffer and written with one write, under a
/// lock, so lines of concurrent flushes never interleave.
/// </summary>
internal sealed class StdoutOutput : IOutput
{
    private readonly Stream _stream;
    private readonly StdoutFormat _format;
    private readonly JsonRecordFormatter? _json;
    private readonly ILogger _logger;
    private readonly OutputMetrics _metrics;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly PooledBufferWriter _buffer = new(64 * 1024);

    public StdoutOutput(string name, Stream stream, StdoutFormat format, JsonDateFormat dateFormat, string? dateKey, FluentJsonFlags jsonFlags, ILogger logger)
    {
        Name = name;
        _stream = stream;
        _format = format;
        _logger = logger;
        _metrics = new OutputMetrics(name);
        if (format != StdoutFormat.Msgpack)
        {
            var layout = format switch
            {
                StdoutFormat.Json => JsonRecordLayout.Json,
                StdoutFormat.JsonLines => JsonRecordLayout.JsonLines,
                _ => JsonRecordLayout.JsonStream,
            };
            _json = new JsonRecordFormatter(layout, dateFormat, dateKey, jsonFlags);
        }
    }

    public string Name { get; }

    public async ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _buffer.Reset();
            int records;
            try
            {
                records = Render(chunk);
            }
            catch (Exception ex) when (ex is EventFormatException or MsgpackFormatException)
            {
                OutputLog.MalformedChunk(_logger, Name, chunk.Tag, ex.Message);
                return _metrics.Failed(FlushResult.Error);
            }

            try
            {
                await _stream.WriteAsync(_buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
                await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                OutputLog.StdoutWriteFailed(_logger, Name, ex.Message);
                return _metrics.Failed(FlushResult.Retry);
            }

            _metrics.Delivered(records, _buffer.WrittenCount);
            return FlushResult.Ok;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public ValueTask DisposeAsync()
    {
        _buffer.Dispose();
        _writeLock.Dispose();
        return ValueTask.CompletedTask;
    }

    private int Render(EventChunk chunk)
    {
        if (_json is not null)
        {
            var count = _json.WriteChunk(chunk.Events, _buffer);

            // Fluent Bit adds the line break itself unless each record already ends with one.
            if (_format != StdoutFormat.JsonLines)
            {
                FluentJson.WriteByte(_buffer, (byte)'\n');
            }

            return count;
        }

        Span<byte> tagBuffer = stackalloc byte[256];
        ReadOnlySpan<byte> tag = Encoding.UTF8.GetByteCount(chunk.Tag) <= tagBuffer.Length
            ? tagBuffer[..Encoding.UTF8.GetBytes(chunk.Tag, tagBuffer)]
            : Encoding.UTF8.GetBytes(chunk.Tag);
        var reader = new EventReader(chunk.Events);
        var index = 0;
        while (reader.TryRead(out var view))
        {
            FluentLineFormats.WriteStdoutLine(_buffer, index, tag, view);
            index++;
        }

        return index;
    }
}
