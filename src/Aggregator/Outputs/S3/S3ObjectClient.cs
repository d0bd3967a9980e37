using System.Net;
using System.Security.Cryptography;
using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>The S3 calls the uploader makes (a seam for tests; the real one is <see cref="AwsS3ObjectClient"/>).</summary>
internal interface IS3ObjectClient : IDisposable
{
    Task PutObjectAsync(string key, Stream body, CancellationToken cancellationToken);

    Task<string> CreateMultipartUploadAsync(string key, CancellationToken cancellationToken);

    /// <returns>The part's ETag.</returns>
    Task<string> UploadPartAsync(string key, string uploadId, int partNumber, Stream body, CancellationToken cancellationToken);

    Task CompleteMultipartUploadAsync(string key, string uploadId, IReadOnlyList<S3UploadedPart> parts, CancellationToken cancellationToken);

    Task AbortMultipartUploadAsync(string key, string uploadId, CancellationToken cancellationToken);

    Task<bool> ObjectExistsAsync(string key, CancellationToken cancellationToken);

    /// <summary>Upload ids of multipart uploads in progress for exactly this key.</summary>
    Task<IReadOnlyList<string>> ListMultipartUploadsAsync(string key, CancellationToken cancellationToken);
}

/// <summary>
/// AWSSDK.S3 with the output's headers: Content-Type, Content-Encoding, x-amz-acl, x-amz-storage-class and, with
/// <c>send_content_md5</c>, Content-MD5. Payloads are sent with their length and signed (no aws-chunked
/// encoding, no trailing checksums) so S3-compatible stores that predate flexible checksums accept them.
/// </summary>
internal sealed class AwsS3ObjectClient : IS3ObjectClient
{
    private readonly AmazonS3Client _client;
    private readonly S3OutputSettings _settings;

    public AwsS3ObjectClient(S3OutputSettings settings, AWSCredentials credentials)
    {
        _settings = settings;
        var config = new AmazonS3Config
        {
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            // A couple of quick SDK retries for a dropped connection; beyond that the uploader's own backoff is in
            // charge (the data stays in store_dir either way).
            MaxErrorRetry = 2,
        };
        if (settings.Endpoint is { } endpoint)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = settings.Region;
            config.ForcePathStyle = true;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(settings.Region);
        }

        _client = new AmazonS3Client(credentials, config);
    }

    public async Task PutObjectAsync(string key, Stream body, CancellationToken cancellationToken)
    {
        var request = new PutObjectRequest
        {
            BucketName = _settings.Bucket,
            Key = key,
            InputStream = body,
            AutoCloseStream = false,
            UseChunkEncoding = false,
            StorageClass = _settings.StorageClass is null ? null : S3StorageClass.FindValue(_settings.StorageClass),
            CannedACL = _settings.CannedAcl is null ? null : S3CannedACL.FindValue(_settings.CannedAcl),
            MD5Digest = _settings.SendContentMd5 ? Md5Base64(body) : null,
        };
        request.Headers.ContentLength = body.Length;
        ApplyContentHeaders(request.Headers);
        await _client.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
    }

    public async Task<string> CreateMultipartUploadAsync(string key, CancellationToken cancellationToken)
    {
        var request = new InitiateMultipartUploadRequest
        {
            BucketName = _settings.Bucket,
            Key = key,
            StorageClass = _settings.StorageClass is null ? null : S3StorageClass.FindValue(_settings.StorageClass),
            CannedACL = _settings.CannedAcl is null ? null : S3CannedACL.FindValue(_settings.CannedAcl),
        };
        ApplyContentHeaders(request.Headers);
        var response = await _client.InitiateMultipartUploadAsync(request, cancellationToken).ConfigureAwait(false);
        return response.UploadId;
    }

    public async Task<string> UploadPartAsync(string key, string uploadId, int partNumber, Stream body, CancellationToken cancellationToken)
    {
        var request = new UploadPartRequest
        {
            BucketName = _settings.Bucket,
            Key = key,
            UploadId = uploadId,
            PartNumber = partNumber,
            InputStream = body,
            PartSize = body.Length,
            UseChunkEncoding = false,
            MD5Digest = _settings.SendContentMd5 ? Md5Base64(body) : null,
        };
        var response = await _client.UploadPartAsync(request, cancellationToken).ConfigureAwait(false);
        return response.ETag;
    }

    public async Task CompleteMultipartUploadAsync(string key, string uploadId, IReadOnlyList<S3UploadedPart> parts, CancellationToken cancellationToken)
    {
        var request = new CompleteMultipartUploadRequest { BucketName = _settings.Bucket, Key = key, UploadId = uploadId, PartETags = [] };
        foreach (var part in parts)
        {
            request.PartETags.Add(new PartETag(part.Number, part.ETag));
        }

        await _client.CompleteMultipartUploadAsync(request, cancellationToken).ConfigureAwait(false);
    }

    public async Task AbortMultipartUploadAsync(string key, string uploadId, CancellationToken cancellationToken) =>
        await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _settings.Bucket, Key = key, UploadId = uploadId }, cancellationToken).ConfigureAwait(false);

    public async Task<bool> ObjectExistsAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            await _client.GetObjectMetadataAsync(_settings.Bucket, key, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public async Task<IReadOnlyList<string>> ListMultipartUploadsAsync(string key, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        var request = new ListMultipartUploadsRequest { BucketName = _settings.Bucket, Prefix = key };
        while (true)
        {
            var response = await _client.ListMultipartUploadsAsync(request, cancellationToken).ConfigureAwait(false);
            foreach (var upload in response.MultipartUploads ?? [])
            {
                if (upload.Key == key)
                {
                    ids.Add(upload.UploadId);
                }
            }

            if (response.IsTruncated != true)
            {
                return ids;
            }

            request.KeyMarker = response.NextKeyMarker;
            request.UploadIdMarker = response.NextUploadIdMarker;
        }
    }

    public void Dispose() => _client.Dispose();

    private void ApplyContentHeaders(HeadersCollection headers)
    {
        if (_settings.ContentType is { } contentType)
        {
            headers.ContentType = contentType;
        }

        if (_settings.ContentEncoding.Length > 0)
        {
            headers.ContentEncoding = _settings.ContentEncoding;
        }
    }

    private static string Md5Base64(Stream body)
    {
        var start = body.Position;
#pragma warning disable CA5351 // Content-MD5 is what S3 defines for this header; it is an integrity check, not security.
        var hash = MD5.HashData(body);
#pragma warning restore CA5351
        body.Position = start;
        return Convert.ToBase64String(hash);
    }
}
