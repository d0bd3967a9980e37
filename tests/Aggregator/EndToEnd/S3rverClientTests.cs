using System.Buffers;
using Amazon.Runtime;
using Amazon.S3.Model;
using Gateway.Aggregator.Outputs;
using Gateway.Aggregator.Outputs.S3;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// The S3 output's real AWS SDK client against s3rver (which verifies SigV4 signatures, payload hashes and
/// Content-MD5): the headers each option asks for arrive, multipart and PutObject both work, wrong credentials
/// are refused and nothing is lost meanwhile. Driven pass by pass, no aggregator process.
/// </summary>
[Collection(EndToEndCollection.Name)]
public sealed class S3rverClientTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gateway-s3rver-").FullName;
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Options_become_the_headers_s3_stores_for_multipart_and_put_objects()
    {
        await using var s3 = await S3rverProcess.StartAsync(Path.Combine(_dir, "s3rver"), "headers");
        var settings = Settings(s3) with
        {
            Compression = S3Compression.Zstd,
            ContentType = "application/json",
            StorageClass = "STANDARD_IA",
            CannedAcl = "bucket-owner-full-control",
            SendContentMd5 = true,
            UploadChunkSize = 4_000,
        };
        await using (var output = Output(settings, new BasicAWSCredentials(S3rverProcess.AccessKey, S3rverProcess.SecretKey)))
        {
            // "big" grows past upload_chunk_size (multipart, parts with Content-MD5); "small" stays one PutObject.
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app.big", i * 100, 100), default));
            }

            Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app.small", 0, 3), default));
            _time.Advance(TimeSpan.FromMinutes(10));
            Assert.True(await output.Uploader!.RunPassAsync(false, default), s3.Log);
        }

        var objects = await s3.ListObjectsAsync();
        Assert.Equal(2, objects.Count);
        foreach (var obj in objects)
        {
            var metadata = await s3.Client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = s3.Bucket, Key = obj.Key });
            Assert.Equal("application/json", metadata.Headers.ContentType);
            Assert.Equal("zstd", metadata.Headers.ContentEncoding);
            Assert.Equal("STANDARD_IA", metadata.StorageClass?.Value);
            var (text, _) = await s3.GetTextAsync(obj.Key);
            var lines = text.TrimEnd('\n').Split('\n');
            Assert.Equal(obj.Key.Contains("app.big", StringComparison.Ordinal) ? 1000 : 3, lines.Length);
        }

        Assert.Empty(await s3.ListMultipartUploadsAsync());
    }

    [Fact]
    public async Task A_wrong_secret_is_refused_and_the_records_wait_in_store_dir()
    {
        await using var s3 = await S3rverProcess.StartAsync(Path.Combine(_dir, "s3rver"), "auth");
        var settings = Settings(s3);
        await using (var output = Output(settings, new BasicAWSCredentials(S3rverProcess.AccessKey, "not-the-secret")))
        {
            Assert.Equal(FlushResult.Ok, await output.FlushAsync(Chunk("app", 0, 5), default));
            _time.Advance(TimeSpan.FromMinutes(10));
            Assert.False(await output.Uploader!.RunPassAsync(false, default));
            Assert.Equal(1, output.Store.ObjectCount);
            output.Store.Dispose();
        }

        Assert.Empty(await s3.ListObjectsAsync());

        // The right credentials after a restart deliver what was kept.
        await using (var output = Output(settings, new BasicAWSCredentials(S3rverProcess.AccessKey, S3rverProcess.SecretKey)))
        {
            Assert.True(await output.Uploader!.RunPassAsync(false, default), s3.Log);
        }

        var (text, _) = await s3.GetTextAsync(Assert.Single(await s3.ListObjectsAsync()).Key);
        Assert.Equal(5, text.TrimEnd('\n').Split('\n').Length);
    }

    private S3OutputSettings Settings(S3rverProcess s3) => new()
    {
        Bucket = s3.Bucket,
        Endpoint = new Uri(s3.Endpoint),
        KeyFormat = new S3KeyFormat("/logs/$TAG/%Y/%m/%d/$UUID", ".", staticFilePath: false),
        StoreDirectory = Path.Combine(_dir, "store"),
    };

    private S3Output Output(S3OutputSettings settings, AWSCredentials credentials) =>
        new("s3.test", settings, new AwsS3ObjectClient(settings, credentials), new OutputContext { InstanceName = "s3.test", TimeProvider = _time },
            NullLogger.Instance, start: true, runUploaderLoop: false);

    private static EventChunk Chunk(string tag, int first, int count)
    {
        var buffer = new ArrayBufferWriter<byte>();
        for (var i = first; i < first + count; i++)
        {
            EventWriter.WriteEvent(buffer, EventTime.Now(), [new("seq", i.ToString(System.Globalization.CultureInfo.InvariantCulture)), new("log", "a line of text for S3 " + i)]);
        }

        return new EventChunk(tag, buffer.WrittenMemory, count);
    }
}
