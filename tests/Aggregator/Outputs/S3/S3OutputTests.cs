using System.Buffers;
using System.IO.Compression;
using System.Text;
using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Outputs.S3;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using MessagePack;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.Outputs.S3;

public sealed class S3OutputTests : IDisposable
{
    private static readonly EventTime Time = new(1_700_000_000, 123_456_000);
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-s3-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
    private readonly FakeS3ObjectClient _s3 = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Small_object_goes_up_with_put_object_after_upload_timeout_as_json_lines()
    {
        await using var output = Output(Settings() with { UploadTimeout = TimeSpan.FromMinutes(1) });
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app.web", 0, 3), default));
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app.web", 3, 2), default));

        await output.Uploader!.RunPassAsync(ignoreBackoff: false, default);
        Assert.Empty(_s3.Objects);

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(await output.Uploader.RunPassAsync(ignoreBackoff: false, default));

        var (key, body) = Assert.Single(_s3.Objects);
        Assert.Matches("^logs/app/web/2023/11/14/app.web-0-[A-Za-z0-9]{8}$", key);
        Assert.Equal(
            [
                "{\"date\":\"2023-11-14T22:13:20.123456Z\",\"seq\":0,\"log\":\"line 0\"}",
                "{\"date\":\"2023-11-14T22:13:20.123456Z\",\"seq\":1,\"log\":\"line 1\"}",
                "{\"date\":\"2023-11-14T22:13:20.123456Z\",\"seq\":2,\"log\":\"line 2\"}",
                "{\"date\":\"2023-11-14T22:13:20.123456Z\",\"seq\":3,\"log\":\"line 3\"}",
                "{\"date\":\"2023-11-14T22:13:20.123456Z\",\"seq\":4,\"log\":\"line 4\"}",
            ],
            Lines(body, S3Compression.None));
        Assert.Equal(0, output.Store.ObjectCount);
        Assert.Empty(Directory.GetDirectories(Path.Combine(_dir, "store", "bucket", "objects")));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task Compressed_objects_decompress_to_exactly_the_records(string compressionName)
    {
        var compression = compressionName == "gzip" ? S3Compression.Gzip : S3Compression.Zstd;
        await using var output = Output(Settings() with { Compression = compression, TotalFileSize = 1 });
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("t", i * 100, 100), default));
        }

        await output.Uploader!.RunPassAsync(ignoreBackoff: false, default);

        // total_file_size 1: every flush seals its own object; 5 objects, each one member/frame.
        Assert.Equal(5, _s3.Objects.Count);
        var seqs = _s3.Objects.Values.SelectMany(b => Lines(b, compression)).Select(Seq).Order().ToList();
        Assert.Equal(Enumerable.Range(0, 500).ToList(), seqs);
    }

    [Fact]
    public async Task Log_key_writes_only_that_value_and_skips_records_without_it()
    {
        await using var output = Output(Settings() with { LogKey = "log", TotalFileSize = 1 });
        var chunk = Concat("t", Event(F("log", "plain text")), Event(F("other", "x")), Event(F("log", 42)));
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(chunk, default));
        await output.Uploader!.RunPassAsync(false, default);

        Assert.Equal(["plain text", "42"], Lines(Assert.Single(_s3.Objects).Value, S3Compression.None));
    }

    [Fact]
    public async Task Json_date_key_and_format_follow_the_options()
    {
        await using var output = Output(Settings() with { JsonDateKey = "ts", JsonDateFormat = JsonDateFormat.Epoch, TotalFileSize = 1 });
        await output.FlushAsync(Chunk("t", 0, 1), default);
        await output.Uploader!.RunPassAsync(false, default);

        Assert.Equal(["{\"ts\":1700000000,\"seq\":0,\"log\":\"line 0\"}"], Lines(Assert.Single(_s3.Objects).Value, S3Compression.None));
    }

    [Fact]
    public async Task Parts_go_up_while_the_object_fills_and_the_upload_completes_at_timeout()
    {
        await using var output = Output(Settings() with { UploadChunkSize = 2_000, TotalFileSize = 1_000_000 });
        for (var i = 0; i < 10; i++)
        {
            await output.FlushAsync(Chunk("t", i * 20, 20), default);
            await output.Uploader!.RunPassAsync(false, default);
        }

        Assert.Contains("UploadPart", _s3.Calls);
        Assert.Empty(_s3.Objects);
        Assert.Equal(1, _s3.PendingUploads);

        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(await output.Uploader!.RunPassAsync(false, default));

        var (key, body) = Assert.Single(_s3.Objects);
        Assert.DoesNotContain("-object", key, StringComparison.Ordinal);
        Assert.Equal(Enumerable.Range(0, 200).ToList(), Lines(body, S3Compression.None).Select(Seq).ToList());
        Assert.Equal(0, _s3.PendingUploads);
        Assert.Equal(1, _s3.Calls.Count(c => c == "CompleteMultipartUpload"));
    }

    [Fact]
    public async Task A_restart_resumes_the_multipart_upload_without_resending_uploaded_parts()
    {
        var settings = Settings() with { UploadChunkSize = 2_000, TotalFileSize = 1_000_000 };
        var first = Output(settings);
        for (var i = 0; i < 5; i++)
        {
            await first.FlushAsync(Chunk("t", i * 20, 20), default);
        }

        await first.Uploader!.RunPassAsync(false, default);
        var partsBefore = _s3.Calls.Count(c => c == "UploadPart");
        Assert.True(partsBefore >= 2);

        // More records, then "kill -9": nothing of the shutdown path runs.
        await first.FlushAsync(Chunk("t", 100, 20), default);
        first.Store.Dispose();

        await using var second = Output(settings);
        Assert.Equal(1, second.Store.ObjectCount);
        Assert.True(await second.Uploader!.RunPassAsync(false, default));

        var (_, body) = Assert.Single(_s3.Objects);
        Assert.Equal(Enumerable.Range(0, 120).ToList(), Lines(body, S3Compression.None).Select(Seq).ToList());
        Assert.Equal(0, _s3.PendingUploads);
        Assert.Equal(1, _s3.Calls.Count(c => c == "CreateMultipartUpload"));
        Assert.Equal(partsBefore + 1, _s3.Calls.Count(c => c == "UploadPart"));
    }

    [Fact]
    public async Task A_completion_whose_answer_was_lost_is_recognised_after_a_restart()
    {
        var settings = Settings() with { UploadChunkSize = 2_000, TotalFileSize = 1_000_000, UploadTimeout = TimeSpan.FromSeconds(5) };
        var first = Output(settings);
        for (var i = 0; i < 5; i++)
        {
            await first.FlushAsync(Chunk("t", i * 20, 20), default);
        }

        _time.Advance(TimeSpan.FromSeconds(5));
        _s3.FailNext("CompleteMultipartUpload", afterApplying: true);
        Assert.False(await first.Uploader!.RunPassAsync(false, default));
        first.Store.Dispose();
        var (key, body) = Assert.Single(_s3.Objects);

        await using var second = Output(settings);
        Assert.True(await second.Uploader!.RunPassAsync(false, default));

        Assert.Equal(0, second.Store.ObjectCount);
        Assert.Equal(body, Assert.Single(_s3.Objects).Value);
        Assert.Equal(key, Assert.Single(_s3.Objects).Key);
        Assert.Contains("HeadObject", _s3.Calls);
    }

    [Fact]
    public async Task An_upload_created_but_not_recorded_before_a_kill_is_adopted_not_orphaned()
    {
        var settings = Settings() with { UploadChunkSize = 2_000, TotalFileSize = 1_000_000, UploadTimeout = TimeSpan.FromSeconds(5) };
        var first = Output(settings);
        for (var i = 0; i < 5; i++)
        {
            await first.FlushAsync(Chunk("t", i * 20, 20), default);
        }

        // S3 creates the upload, the answer never arrives; then the process dies.
        _s3.FailNext("CreateMultipartUpload", afterApplying: true);
        Assert.False(await first.Uploader!.RunPassAsync(false, default));
        first.Store.Dispose();
        Assert.Equal(1, _s3.PendingUploads);

        await using var second = Output(settings);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.True(await second.Uploader!.RunPassAsync(false, default));

        Assert.Equal(0, _s3.PendingUploads);
        Assert.Equal(1, _s3.Calls.Count(c => c == "CreateMultipartUpload"));
        Assert.Equal(Enumerable.Range(0, 100).ToList(), Lines(Assert.Single(_s3.Objects).Value, S3Compression.None).Select(Seq).ToList());
    }

    [Fact]
    public async Task A_failed_upload_keeps_the_data_and_is_retried_after_the_backoff()
    {
        await using var output = Output(Settings() with { TotalFileSize = 1 });
        await output.FlushAsync(Chunk("t", 0, 3), default);
        _s3.FailNext("PutObject");

        Assert.False(await output.Uploader!.RunPassAsync(false, default));
        Assert.Empty(_s3.Objects);
        Assert.False(await output.Uploader.RunPassAsync(false, default));
        Assert.Single(_s3.Calls, c => c == "PutObject");

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(await output.Uploader.RunPassAsync(false, default));
        Assert.Equal([0, 1, 2], Lines(Assert.Single(_s3.Objects).Value, S3Compression.None).Select(Seq));
    }

    [Fact]
    public async Task A_torn_frame_left_by_a_kill_is_cut_and_the_acknowledged_records_survive()
    {
        var settings = Settings();
        var first = Output(settings);
        await first.FlushAsync(Chunk("t", 0, 3), default);
        first.Store.Dispose();

        // A flush interrupted mid-write: a header promising more bytes than follow.
        var part = Directory.GetFiles(Path.Combine(_dir, "store", "bucket", "objects"), "part-*.data", SearchOption.AllDirectories).Single();
        var lengthBefore = new FileInfo(part).Length;
        await using (var stream = new FileStream(part, FileMode.Append))
        {
            stream.Write([200, 0, 0, 0, 1, 0, 0, 0, (byte)'{', (byte)'"']);
        }

        await using var second = Output(settings);
        Assert.Equal(lengthBefore, new FileInfo(part).Length);
        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.True(await second.Uploader!.RunPassAsync(false, default));
        Assert.Equal([0, 1, 2], Lines(Assert.Single(_s3.Objects).Value, S3Compression.None).Select(Seq));
    }

    [Fact]
    public async Task Store_dir_limit_sends_the_chunk_back_to_the_engine()
    {
        await using var output = Output(Settings() with { StoreDirectoryLimit = 600 });
        Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("t", 0, 5), default));
        Assert.Equal(FlushResult.Retry, await output.FlushAsync(Chunk("t", 5, 5), default));
    }

    [Fact]
    public async Task Index_keeps_counting_across_restarts()
    {
        var settings = Settings() with { TotalFileSize = 1 };
        await using (var first = Output(settings))
        {
            await first.FlushAsync(Chunk("a.b", 0, 1), default);
            await first.FlushAsync(Chunk("a.b", 1, 1), default);
        }

        await using (var second = Output(settings))
        {
            await second.FlushAsync(Chunk("a.b", 2, 1), default);
            await second.Uploader!.RunPassAsync(false, default);
        }

        var indexes = _s3.Objects.Keys.Select(k => k.Split('-')[^2]).Order().ToList();
        Assert.Equal(["0", "1", "2"], indexes);
    }

    private S3OutputSettings Settings() => new()
    {
        Bucket = "bucket",
        KeyFormat = new S3KeyFormat("/logs/$TAG[0]/$TAG[1]/%Y/%m/%d/$TAG-$INDEX-$UUID", ".", staticFilePath: false),
        StoreDirectory = Path.Combine(_dir, "store"),
        UploadChunkSize = S3OutputSettings.MinimumPartSize,
        TotalFileSize = 100_000_000,
    };

    private S3Output Output(S3OutputSettings settings) =>
        new("s3.test", settings, _s3, new OutputContext { InstanceName = "s3.test", TimeProvider = _time }, NullLogger.Instance, start: true, runUploaderLoop: false);

    private static int Seq(string line) => System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("seq").GetInt32();

    private static List<string> Lines(byte[] body, S3Compression compression)
    {
        Stream source = new MemoryStream(body);
        source = compression switch
        {
            S3Compression.Gzip => new GZipStream(source, CompressionMode.Decompress),
            S3Compression.Zstd => new ZstdSharp.DecompressionStream(source),
            _ => source,
        };
        using var reader = new StreamReader(source, Encoding.UTF8);
        var text = reader.ReadToEnd();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        return [.. text.TrimEnd('\n').Split('\n')];
    }

    private static EventChunk Chunk(string tag, int firstSeq, int count)
    {
        var events = new List<byte[]>();
        for (var i = firstSeq; i < firstSeq + count; i++)
        {
            events.Add(Event(F("seq", i), F("log", "line " + i)));
        }

        return Concat(tag, [.. events]);
    }

    private static EventChunk Concat(string tag, params byte[][] events)
    {
        var all = events.SelectMany(e => e).ToArray();
        return new EventChunk(tag, all, events.Length);
    }

    private static KeyValuePair<string, object> F(string key, object value) => new(key, value);

    private static byte[] Event(params KeyValuePair<string, object>[] fields)
    {
        var buffer = new ArrayBufferWriter<byte>();
        var record = new ArrayBufferWriter<byte>();
        var writer = new MessagePackWriter(record);
        writer.WriteMapHeader(fields.Length);
        foreach (var (key, value) in fields)
        {
            writer.Write(key);
            if (value is int n)
            {
                writer.Write(n);
            }
            else
            {
                writer.Write((string)value);
            }
        }

        writer.Flush();
        var eventWriter = new MessagePackWriter(buffer);
        EventWriter.WriteEvent(ref eventWriter, Time, record.WrittenSpan);
        eventWriter.Flush();
        return buffer.WrittenSpan.ToArray();
    }
}
