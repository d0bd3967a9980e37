using System.Buffers;
using System.Buffers.Text;
using System.IO.Compression;
using Gateway.Engine.Aws;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.RecordAccessor;
using Gateway.Engine.Records;
using MessagePack;

namespace Gateway.Aggregator.Outputs.Kinesis;

/// <summary>
/// One chunk turned into service records and cut into requests. Each event becomes its JSON (or its
/// <c>log_key</c> value) with <c>time_key</c> appended and a trailing newline — what Fluent Bit writes, so a
/// Firehose destination that concatenates records gets JSON lines — then, as asked, packed with its neighbours
/// (<c>simple_aggregation</c>) and compressed. Records sit in two pooled buffers (data, partition keys) addressed
/// by <see cref="KinesisRecordSlice"/>; requests are consecutive record ranges within the service's limits. The
/// plan is a pure function of the chunk's bytes, so record ordinals match across retries of the same chunk.
/// </summary>
internal sealed class KinesisFlushPlan : IDisposable
{
    // Bytes a record adds to the request JSON besides its base64 data and key, as Fluent Bit reckons them
    // (PUT_RECORDS_PER_RECORD_LEN); counting the request as sent keeps us under the limit however AWS counts it.
    private const int PerRecordOverhead = 48;
    private const int RequestOverhead = 64;

    private readonly KinesisOutputSettings _settings;
    private readonly PooledBufferWriter _data;
    private readonly PooledBufferWriter _keys = new(256);
    private readonly PooledBufferWriter _text = new(1024);
    private readonly PooledBufferWriter _aggregate = new(0);
    private readonly List<(int First, int Count)> _requests = [];
    private KinesisRecordSlice[] _records;
    private int _recordCount;
    private readonly byte[]? _timeKey;
    private MemoryStream? _gzipTarget;
    private ZstdSharp.Compressor? _zstd;

    private KinesisFlushPlan(KinesisOutputSettings settings, int eventCount, int chunkBytes)
    {
        _settings = settings;
        _timeKey = settings.TimeKey is null ? null : System.Text.Json.JsonEncodedText.Encode(settings.TimeKey).EncodedUtf8Bytes.ToArray();
        _data = new PooledBufferWriter(Math.Max(1024, chunkBytes * 2));
        _records = ArrayPool<KinesisRecordSlice>.Shared.Rent(Math.Max(16, eventCount));
    }

    public ReadOnlyMemory<byte> Data => _data.WrittenMemory;

    public ReadOnlyMemory<byte> Keys => _keys.WrittenMemory;

    public ReadOnlySpan<KinesisRecordSlice> Records => _records.AsSpan(0, _recordCount);

    public int RecordCount => _recordCount;

    /// <summary>Consecutive record ranges, one per request.</summary>
    public IReadOnlyList<(int First, int Count)> Requests => _requests;

    /// <summary>Events that became (part of) a record.</summary>
    public int EventCount { get; private set; }

    /// <summary>Events dropped: over the record size limit even alone, or without their <c>log_key</c>.</summary>
    public int Dropped { get; private set; }

    /// <summary>Largest dropped record, for the log.</summary>
    public int LargestDropped { get; private set; }

    public int LogKeyMissing { get; private set; }

    public long DataBytes => _data.WrittenCount;

    /// <exception cref="EventFormatException">The chunk is not valid event msgpack.</exception>
    public static KinesisFlushPlan Build(EventChunk chunk, KinesisOutputSettings settings, RecordAccessor? logKey, RecordAccessor? partitionKey, byte[][]? dataKeys, FluentJsonFlags jsonFlags)
    {
        var plan = new KinesisFlushPlan(settings, chunk.EventCount, chunk.ByteLength);
        try
        {
            var reader = new EventReader(chunk.Events);
            while (reader.TryRead(out var view))
            {
                plan.AddEvent(view, logKey, partitionKey, dataKeys, jsonFlags);
            }

            plan.FlushAggregate();
            plan.CutRequests();
            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    private void AddEvent(EventView view, RecordAccessor? logKey, RecordAccessor? partitionKey, byte[][]? dataKeys, FluentJsonFlags jsonFlags)
    {
        var record = view.Record.Span;
        _text.Reset();
        if (logKey is not null)
        {
            if (!logKey.TryGetValue(record, out var value))
            {
                LogKeyMissing++;
                Dropped++;
                return;
            }

            if (value.IsString)
            {
                _text.Write(value.Payload(record));
            }
            else
            {
                FluentJson.WriteValue(value.Encoded(record), _text, jsonFlags);
            }
        }
        else if (dataKeys is not null)
        {
            WriteSelectedKeys(view.Record, dataKeys, _text, jsonFlags);
        }
        else
        {
            FluentJson.WriteValue(record, _text, jsonFlags);
        }

        if (_timeKey is not null)
        {
            AppendTimeKey(_timeKey, view.Time);
        }

        // A record with nothing in it carries nothing; Fluent Bit discards empty messages too.
        if (_text.WrittenCount == 0)
        {
            Dropped++;
            return;
        }

        if (_settings.AppendNewline)
        {
            _text.Write("\n"u8);
        }

        EventCount++;
        if (_settings.SimpleAggregation)
        {
            var limit = _settings.MaxRecordBytes - (_settings.Service == KinesisService.Streams ? 32 : 0);
            if (_aggregate.WrittenCount > 0 && _aggregate.WrittenCount + _text.WrittenCount > limit)
            {
                FlushAggregate();
            }

            _aggregate.Write(_text.WrittenSpan);
            return;
        }

        var keyStart = _keys.WrittenCount;
        if (_settings.Service == KinesisService.Streams)
        {
            WritePartitionKey(record, partitionKey);
        }

        AddRecord(_text.WrittenSpan, keyStart, _keys.WrittenCount - keyStart);
    }

    /// <summary>Emits the records packed so far as one service record (each still newline-terminated).</summary>
    private void FlushAggregate()
    {
        if (_aggregate.WrittenCount == 0)
        {
            return;
        }

        var keyStart = _keys.WrittenCount;
        if (_settings.Service == KinesisService.Streams)
        {
            WriteRandomKey();
        }

        AddRecord(_aggregate.WrittenSpan, keyStart, _keys.WrittenCount - keyStart);
        _aggregate.Reset();
    }

    private void AddRecord(ReadOnlySpan<byte> text, int keyStart, int keyLength)
    {
        var start = _data.WrittenCount;
        switch (_settings.Compression)
        {
            case KinesisCompression.Gzip:
                _gzipTarget ??= new MemoryStream();
                _gzipTarget.SetLength(0);
                using (var gzip = new GZipStream(_gzipTarget, CompressionLevel.Optimal, leaveOpen: true))
                {
                    gzip.Write(text);
                }

                _data.Write(_gzipTarget.GetBuffer().AsSpan(0, (int)_gzipTarget.Length));
                break;
            case KinesisCompression.Zstd:
                _zstd ??= new ZstdSharp.Compressor();
                var bound = ZstdSharp.Compressor.GetCompressBound(text.Length);
                var written = _zstd.Wrap(text, _data.GetSpan(bound));
                _data.Advance(written);
                break;
            default:
                _data.Write(text);
                break;
        }

        var length = _data.WrittenCount - start;
        if (length + keyLength > _settings.MaxRecordBytes)
        {
            // Too big for the service even alone: Fluent Bit discards it with a warning; so do we (counted).
            _data.Truncate(start);
            _keys.Truncate(keyStart);
            Dropped++;
            EventCount--;
            LargestDropped = Math.Max(LargestDropped, length);
            return;
        }

        if (_recordCount == _records.Length)
        {
            var bigger = ArrayPool<KinesisRecordSlice>.Shared.Rent(_records.Length * 2);
            _records.AsSpan(0, _recordCount).CopyTo(bigger);
            ArrayPool<KinesisRecordSlice>.Shared.Return(_records);
            _records = bigger;
        }

        _records[_recordCount++] = new KinesisRecordSlice(start, length, keyStart, keyLength);
    }

    /// <summary>Appends <c>,"key":"time"</c> inside the JSON object just written, as Fluent Bit does; other values are left alone.</summary>
    private void AppendTimeKey(byte[] timeKey, EventTime time)
    {
        var written = _text.WrittenSpan;
        if (written.Length < 2 || written[0] != (byte)'{' || written[^1] != (byte)'}')
        {
            return;
        }

        var empty = written.Length == 2;
        _text.Truncate(written.Length - 1);
        _text.Write(empty ? "\""u8 : ",\""u8);
        _text.Write(timeKey);
        _text.Write("\":\""u8);
        _settings.TimeKeyFormat.Write(time, _text);
        _text.Write("\"}"u8);
    }

    /// <summary>The record's <c>partition_key</c> value (strings as text, else JSON), or a random key when absent or empty.</summary>
    private void WritePartitionKey(ReadOnlySpan<byte> record, RecordAccessor? partitionKey)
    {
        if (partitionKey is not null && partitionKey.TryGetValue(record, out var value))
        {
            var start = _keys.WrittenCount;
            if (value.IsString)
            {
                _keys.Write(value.Payload(record));
            }
            else
            {
                FluentJson.WriteValue(value.Encoded(record), _keys, FluentJsonFlags.RawUnicode);
            }

            var length = _keys.WrittenCount - start;
            if (length > 0 && System.Text.Encoding.UTF8.GetCharCount(_keys.WrittenSpan[start..]) <= KinesisOutputSettings.MaxPartitionKeyChars)
            {
                return;
            }

            // Empty or longer than Kinesis allows: a random key keeps the record deliverable.
            _keys.Truncate(start);
        }

        WriteRandomKey();
    }

    /// <summary>16 hex digits: spreads records over shards as Fluent Bit's random key does.</summary>
    private void WriteRandomKey()
    {
        Span<byte> random = stackalloc byte[8];
        Random.Shared.NextBytes(random);
        var target = _keys.GetSpan(16);
        for (var i = 0; i < random.Length; i++)
        {
            target[2 * i] = (byte)"0123456789abcdef"[random[i] >> 4];
            target[(2 * i) + 1] = (byte)"0123456789abcdef"[random[i] & 0xF];
        }

        _keys.Advance(16);
    }

    /// <summary>The record with only the listed top-level keys (the Go plugins' <c>data_keys</c>), as JSON.</summary>
    private static void WriteSelectedKeys(ReadOnlyMemory<byte> recordMemory, byte[][] keys, IBufferWriter<byte> output, FluentJsonFlags flags)
    {
        var record = recordMemory.Span;
        var reader = new MessagePackReader(recordMemory);
        if (reader.NextMessagePackType != MessagePackType.Map)
        {
            FluentJson.WriteValue(record, output, flags);
            return;
        }

        var pairs = reader.ReadMapHeader();
        output.Write("{"u8);
        var first = true;
        for (var i = 0; i < pairs; i++)
        {
            var keyStart = (int)reader.Consumed;
            var keep = false;
            if (reader.NextMessagePackType == MessagePackType.String && reader.TryReadStringSpan(out var name))
            {
                foreach (var key in keys)
                {
                    if (name.SequenceEqual(key))
                    {
                        keep = true;
                        break;
                    }
                }
            }
            else
            {
                reader.Skip();
            }

            var valueStart = (int)reader.Consumed;
            reader.Skip();
            if (!keep)
            {
                continue;
            }

            output.Write(first ? ""u8 : ","u8);
            first = false;
            FluentJson.WriteValue(record[keyStart..valueStart], output, flags);
            output.Write(":"u8);
            FluentJson.WriteValue(record[valueStart..(int)reader.Consumed], output, flags);
        }

        output.Write("}"u8);
    }

    /// <summary>Cuts the records into requests of at most the service's record count and request size.</summary>
    private void CutRequests()
    {
        var first = 0;
        long bytes = RequestOverhead + (_settings.StreamName.Length * 6);
        for (var i = 0; i < _recordCount; i++)
        {
            var cost = Base64.GetMaxEncodedToUtf8Length(_records[i].DataLength) + (_records[i].KeyLength * 6) + PerRecordOverhead;
            if (i > first && (i - first == _settings.MaxRecords || bytes + cost > _settings.MaxRequestBytes))
            {
                _requests.Add((first, i - first));
                first = i;
                bytes = RequestOverhead + (_settings.StreamName.Length * 6);
            }

            bytes += cost;
        }

        if (_recordCount > first)
        {
            _requests.Add((first, _recordCount - first));
        }
    }

    public void Dispose()
    {
        _data.Dispose();
        _keys.Dispose();
        _text.Dispose();
        _aggregate.Dispose();
        _gzipTarget?.Dispose();
        _zstd?.Dispose();
        if (_records.Length > 0)
        {
            ArrayPool<KinesisRecordSlice>.Shared.Return(_records);
            _records = [];
        }
    }
}
