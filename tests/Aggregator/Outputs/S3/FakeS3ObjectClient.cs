using System.Net;
using Amazon.S3;
using Gateway.Aggregator.Outputs.S3;

namespace Gateway.Aggregator.Tests.Outputs.S3;

/// <summary>
/// An in-memory S3 with S3's multipart rules: parts are kept per upload id, CompleteMultipartUpload checks every
/// listed ETag and concatenates the parts in order, a finished or aborted upload id answers NoSuchUpload. Faults
/// can be queued per operation; anything unexpected throws.
/// </summary>
internal sealed class FakeS3ObjectClient : IS3ObjectClient
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, byte[]> _objects = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Key, SortedDictionary<int, byte[]> Parts)> _uploads = new(StringComparer.Ordinal);
    private readonly Queue<(string Operation, bool AfterApplying)> _faults = new();
    private int _nextUpload;

    public List<string> Calls { get; } = [];

    public IReadOnlyDictionary<string, byte[]> Objects
    {
        get
        {
            lock (_gate)
            {
                return new Dictionary<string, byte[]>(_objects);
            }
        }
    }

    public int PendingUploads
    {
        get
        {
            lock (_gate)
            {
                return _uploads.Count;
            }
        }
    }

    public bool Disposed { get; private set; }

    /// <summary>The next call of <paramref name="operation"/> fails like a lost connection — before S3 applied it, or after (the answer was lost).</summary>
    public void FailNext(string operation, bool afterApplying = false)
    {
        lock (_gate)
        {
            _faults.Enqueue((operation, afterApplying));
        }
    }

    public Task PutObjectAsync(string key, Stream body, CancellationToken cancellationToken)
    {
        var bytes = Read(body);
        return Run("PutObject", () => _objects[key] = bytes);
    }

    public Task<string> CreateMultipartUploadAsync(string key, CancellationToken cancellationToken) =>
        Run("CreateMultipartUpload", () =>
        {
            var id = "upload-" + (++_nextUpload);
            _uploads[id] = (key, new SortedDictionary<int, byte[]>());
            return id;
        });

    public Task<string> UploadPartAsync(string key, string uploadId, int partNumber, Stream body, CancellationToken cancellationToken)
    {
        var bytes = Read(body);
        return Run("UploadPart", () =>
        {
            var upload = Upload(uploadId, key);
            upload.Parts[partNumber] = bytes;
            return ETag(bytes);
        });
    }

    public Task CompleteMultipartUploadAsync(string key, string uploadId, IReadOnlyList<S3UploadedPart> parts, CancellationToken cancellationToken) =>
        Run("CompleteMultipartUpload", () =>
        {
            var upload = Upload(uploadId, key);
            using var content = new MemoryStream();
            var previous = 0;
            foreach (var part in parts)
            {
                if (part.Number <= previous || !upload.Parts.TryGetValue(part.Number, out var bytes) || ETag(bytes) != part.ETag)
                {
                    throw new AmazonS3Exception("InvalidPart") { ErrorCode = "InvalidPart", StatusCode = HttpStatusCode.BadRequest };
                }

                content.Write(bytes);
                previous = part.Number;
            }

            _objects[key] = content.ToArray();
            _uploads.Remove(uploadId);
            return true;
        });

    public Task AbortMultipartUploadAsync(string key, string uploadId, CancellationToken cancellationToken) =>
        Run("AbortMultipartUpload", () => _uploads.Remove(uploadId));

    public Task<bool> ObjectExistsAsync(string key, CancellationToken cancellationToken) =>
        Run("HeadObject", () => _objects.ContainsKey(key));

    public Task<IReadOnlyList<string>> ListMultipartUploadsAsync(string key, CancellationToken cancellationToken) =>
        Run("ListMultipartUploads", () => (IReadOnlyList<string>)[.. _uploads.Where(u => u.Value.Key == key).Select(u => u.Key).Order(StringComparer.Ordinal)]);

    public void Dispose() => Disposed = true;

    private static string ETag(byte[] bytes) => "\"" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..32] + "\"";

    private static byte[] Read(Stream body)
    {
        using var copy = new MemoryStream();
        body.CopyTo(copy);
        if (copy.Length != body.Length)
        {
            throw new InvalidOperationException($"the body stream gave {copy.Length} bytes but says its length is {body.Length}");
        }

        return copy.ToArray();
    }

    private (string Key, SortedDictionary<int, byte[]> Parts) Upload(string uploadId, string key)
    {
        if (!_uploads.TryGetValue(uploadId, out var upload))
        {
            throw new AmazonS3Exception("The specified upload does not exist") { ErrorCode = "NoSuchUpload", StatusCode = HttpStatusCode.NotFound };
        }

        if (upload.Key != key)
        {
            throw new InvalidOperationException($"upload {uploadId} is for '{upload.Key}', not '{key}'");
        }

        return upload;
    }

    private Task<T> Run<T>(string operation, Func<T> apply)
    {
        lock (_gate)
        {
            Calls.Add(operation);
            var fault = _faults.Count > 0 && _faults.Peek().Operation == operation ? _faults.Dequeue() : default;
            if (fault.Operation is not null && !fault.AfterApplying)
            {
                return Task.FromException<T>(new HttpRequestException($"injected failure before {operation}"));
            }

            T result;
            try
            {
                result = apply();
            }
            catch (Exception ex)
            {
                return Task.FromException<T>(ex);
            }

            return fault.Operation is not null
                ? Task.FromException<T>(new HttpRequestException($"injected failure after {operation} was applied"))
                : Task.FromResult(result);
        }
    }

    private Task Run(string operation, Action apply) => Run(operation, () =>
    {
        apply();
        return true;
    });
}
