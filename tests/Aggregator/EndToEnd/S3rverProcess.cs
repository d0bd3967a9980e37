using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// s3rver (npm, pinned in tests/clients/s3rver) on 127.0.0.1 through <c>server.js</c>, which refuses any request
/// whose AWS Signature V4 does not verify with the secret, and answers ListMultipartUploads. Tests read the
/// bucket back with the AWS SDK, as a user would.
/// </summary>
internal sealed class S3rverProcess : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    private readonly Process _process;
    private readonly StringBuilder _log = new();

    private S3rverProcess(Process process, int port, string bucket, string directory)
    {
        _process = process;
        Port = port;
        Bucket = bucket;
        Directory = directory;
        Client = new AmazonS3Client(
            new BasicAWSCredentials(AccessKey, SecretKey),
            new AmazonS3Config
            {
                ServiceURL = Endpoint,
                ForcePathStyle = true,
                AuthenticationRegion = "us-east-1",
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            });
    }

    public int Port { get; }

    public string Bucket { get; }

    public string Directory { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public AmazonS3Client Client { get; }

    /// <summary>The environment that gives the aggregator s3rver's credentials through the SDK chain.</summary>
    public static IReadOnlyDictionary<string, string> CredentialsEnvironment => new Dictionary<string, string>
    {
        ["AWS_ACCESS_KEY_ID"] = AccessKey,
        ["AWS_SECRET_ACCESS_KEY"] = SecretKey,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public static async Task<S3rverProcess> StartAsync(string directory, string bucket)
    {
        var clients = Path.Combine(RepositoryPaths.ClientsDirectory, "s3rver");
        if (!System.IO.Directory.Exists(Path.Combine(clients, "node_modules", "s3rver")))
        {
            throw new InvalidOperationException($"{clients}/node_modules is missing: run npm ci in that folder (.ci/run does)");
        }

        var port = FreePort.Next();
        var info = new ProcessStartInfo("node")
        {
            WorkingDirectory = clients,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "server.js", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--directory", directory, "--bucket", bucket })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        var server = new S3rverProcess(process, port, bucket, directory);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            server.Append(e.Data);
            if (e.Data?.Contains("listening", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            await server.DisposeAsync();
            throw new TimeoutException($"s3rver did not start:\n{server.Log}");
        }

        return server;
    }

    public async Task<List<S3Object>> ListObjectsAsync()
    {
        var all = new List<S3Object>();
        string? token = null;
        do
        {
            var page = await Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, ContinuationToken = token });
            all.AddRange(page.S3Objects ?? []);
            token = page.IsTruncated == true ? page.NextContinuationToken : null;
        }
        while (token is not null);

        return all;
    }

    /// <summary>Multipart uploads started and neither completed nor aborted.</summary>
    public async Task<List<MultipartUpload>> ListMultipartUploadsAsync()
    {
        var response = await Client.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = Bucket });
        return response.MultipartUploads ?? [];
    }

    /// <summary>Upload ids s3rver holds on disk right now (cheap enough to poll).</summary>
    public int UploadsInProgressOnDisk()
    {
        var uploads = Path.Combine(Directory, Bucket, "._S3rver_uploads");
        return System.IO.Directory.Exists(uploads) ? System.IO.Directory.GetDirectories(uploads).Length : 0;
    }

    /// <summary>An object's body, decompressed per its Content-Encoding, and that header.</summary>
    public async Task<(string Text, string? ContentEncoding)> GetTextAsync(string key)
    {
        using var response = await Client.GetObjectAsync(Bucket, key);
        var encoding = response.Headers.ContentEncoding;
        using var body = new MemoryStream();
        await response.ResponseStream.CopyToAsync(body);
        body.Position = 0;
        Stream source = encoding switch
        {
            "gzip" => new GZipStream(body, CompressionMode.Decompress),
            "zstd" => new ZstdSharp.DecompressionStream(body),
            _ => body,
        };
        using var reader = new StreamReader(source, Encoding.UTF8);
        return (await reader.ReadToEndAsync(), encoding);
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
