using Amazon.Runtime;
using Gateway.Engine.Aws;
using Gateway.Engine.Config;
using Gateway.Engine.Json;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>Builds <c>[OUTPUT] s3</c> from Fluent Bit's out_s3 options, with its defaults and limits.</summary>
internal static class S3OutputFactory
{
    private const long MaxUploadChunkSize = 50_000_000;
    private const long MaxTotalFileSize = 50_000_000_000;
    private const long MaxPutObjectSize = 1_000_000_000;
    private const int MaxParts = 10_000;

    private static readonly string[] Keys =
    [
        "region", "bucket", "endpoint", "s3_key_format", "s3_key_format_tag_delimiters", "static_file_path",
        "total_file_size", "upload_chunk_size", "upload_timeout", "use_put_object", "compression", "content_type",
        "store_dir", "store_dir_limit_size", "send_content_md5", "log_key", "json_date_key", "json_date_format",
        "preserve_data_ordering", "retry_limit", "canned_acl", "storage_class", "role_arn", "external_id",
        "sts_endpoint", "profile", "auto_retry_requests",
    ];

    private static readonly HashSet<string> StorageClasses = new(StringComparer.Ordinal)
    {
        "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE",
        "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE",
    };

    private static readonly HashSet<string> CannedAcls = new(StringComparer.Ordinal)
    {
        "private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read",
        "bucket-owner-full-control", "log-delivery-write",
    };

    public static S3Output Create(ConfigSection section, OutputContext context) => Create(section, context, sourceCredentials: null);

    /// <param name="sourceCredentials">Test hook: credentials to start from instead of the SDK chain (role_arn still applies).</param>
    internal static S3Output Create(ConfigSection section, OutputContext context, AWSCredentials? sourceCredentials)
    {
        var settings = ReadSettings(section, context.BaseDirectory);
        AWSCredentials credentials;
        try
        {
            credentials = AwsCredentialsSource.Resolve(
                new AwsCredentialOptions(settings.Region, settings.Profile, settings.RoleArn, settings.ExternalId, settings.StsEndpoint),
                sourceCredentials);
        }
        catch (InvalidOperationException ex)
        {
            // A named profile that does not exist: a config error at its line, for --dry-run as for a start.
            throw new ConfigException(section.Find("profile")?.Location ?? section.Location, "s3: " + ex.Message);
        }

        var client = new AwsS3ObjectClient(settings, credentials);
        return new S3Output(context.InstanceName, settings, client, context, OutputFactory.Logger(context), start: !context.ValidationOnly);
    }

    /// <exception cref="ConfigException">A missing or invalid option, naming file and line.</exception>
    internal static S3OutputSettings ReadSettings(ConfigSection section, string baseDirectory)
    {
        var options = new OutputOptions(section, Keys);
        options.RejectUnknownKeys("s3");
        var bucket = options.GetString("bucket")?.Trim();
        if (string.IsNullOrEmpty(bucket))
        {
            throw new ConfigException(options.Find("bucket")?.Location ?? section.Location, "s3: 'bucket' is required");
        }

        var usePutObject = options.GetBool("use_put_object", false);
        var totalFileSize = ConfigValues.Size(options.Find("total_file_size"), 100_000_000, 1);
        var chunkEntry = options.Find("upload_chunk_size");
        var chunkSize = ConfigValues.Size(chunkEntry, S3OutputSettings.MinimumPartSize, 1);
        if (chunkEntry is not null && chunkSize < S3OutputSettings.MinimumPartSize)
        {
            throw OutputOptions.Invalid(chunkEntry, "must be at least 5,242,880 bytes (S3's smallest part)");
        }

        if (chunkSize > MaxUploadChunkSize)
        {
            throw OutputOptions.Invalid(chunkEntry!, "the largest upload_chunk_size is 50M");
        }

        var totalEntry = options.Find("total_file_size");
        if (usePutObject && totalFileSize > MaxPutObjectSize)
        {
            throw OutputOptions.Invalid(totalEntry!, "with use_put_object the largest total_file_size is 1G");
        }

        if (totalFileSize > MaxTotalFileSize)
        {
            throw OutputOptions.Invalid(totalEntry!, "the largest total_file_size is 50G");
        }

        if (!usePutObject && chunkSize > totalFileSize)
        {
            throw new ConfigException(chunkEntry?.Location ?? totalEntry?.Location ?? section.Location, "s3: upload_chunk_size can not be larger than total_file_size");
        }

        if (!usePutObject && (totalFileSize + chunkSize - 1) / chunkSize > MaxParts)
        {
            throw new ConfigException(totalEntry?.Location ?? section.Location, "s3: total_file_size / upload_chunk_size exceeds S3's 10,000 parts per object");
        }

        var compression = S3Compression.None;
        if (options.Find("compression") is { } compressionEntry)
        {
            compression = compressionEntry.Value.Trim().ToLowerInvariant() switch
            {
                "" or "none" => S3Compression.None,
                "gzip" => S3Compression.Gzip,
                "zstd" => S3Compression.Zstd,
                _ => throw OutputOptions.Invalid(compressionEntry, "expected gzip or zstd (arrow and parquet are not supported)"),
            };
        }

        string? storageClass = null;
        if (options.Find("storage_class") is { } storageEntry)
        {
            storageClass = storageEntry.Value.Trim().ToUpperInvariant();
            if (!StorageClasses.Contains(storageClass))
            {
                throw OutputOptions.Invalid(storageEntry, "expected an S3 storage class such as STANDARD, STANDARD_IA, INTELLIGENT_TIERING or GLACIER");
            }
        }

        string? cannedAcl = null;
        if (options.Find("canned_acl") is { } aclEntry)
        {
            cannedAcl = aclEntry.Value.Trim().ToLowerInvariant();
            if (!CannedAcls.Contains(cannedAcl))
            {
                throw OutputOptions.Invalid(aclEntry, "expected a canned ACL such as private or bucket-owner-full-control");
            }
        }

        var dateFormat = JsonDateFormat.Iso8601;
        if (options.Find("json_date_format") is { } formatEntry)
        {
            dateFormat = JsonRecordFormatter.ParseDateFormat(formatEntry.Value.Trim())
                ?? throw OutputOptions.Invalid(formatEntry, "expected double, epoch, epoch_ms, iso8601 or java_sql_timestamp");
        }

        string? dateKey = "date";
        if (options.Find("json_date_key") is { } keyEntry)
        {
            dateKey = OutputOptions.ParseBool(keyEntry) == false ? null : keyEntry.Value.Trim();
        }

        var storeDir = options.GetString("store_dir", "/tmp/fluent-bit/s3").Trim();
        storeDir = Path.GetFullPath(storeDir, baseDirectory);
        var keyFormatText = (options.Find("s3_key_format")?.Value ?? S3KeyFormat.DefaultFormat).Trim();
        return new S3OutputSettings
        {
            Bucket = bucket,
            Region = options.GetString("region", "us-east-1").Trim(),
            Endpoint = ReadEndpoint(options),
            StsEndpoint = EmptyToNull(options.GetString("sts_endpoint")),
            Profile = EmptyToNull(options.GetString("profile")),
            RoleArn = EmptyToNull(options.GetString("role_arn")),
            ExternalId = EmptyToNull(options.GetString("external_id")),
            KeyFormat = new S3KeyFormat(keyFormatText, options.GetString("s3_key_format_tag_delimiters", "."), options.GetBool("static_file_path", false)),
            TotalFileSize = totalFileSize,
            UploadChunkSize = chunkSize,
            UploadTimeout = options.GetDuration("upload_timeout", TimeSpan.FromMinutes(10)),
            UsePutObject = usePutObject,
            Compression = compression,
            ContentType = EmptyToNull(options.GetString("content_type")),
            StoreDirectory = storeDir,
            StoreDirectoryLimit = ConfigValues.Size(options.Find("store_dir_limit_size"), 0, 0),
            SendContentMd5 = options.GetBool("send_content_md5", false),
            LogKey = EmptyToNull(options.GetString("log_key")),
            JsonDateKey = dateKey,
            JsonDateFormat = dateFormat,
            PreserveDataOrdering = options.GetBool("preserve_data_ordering", true),
            RetryLimit = ReadRetryLimit(options),
            CannedAcl = cannedAcl,
            StorageClass = storageClass,
        };
    }

    /// <summary>Fluent Bit's <c>retry_limit</c>: a number, or <c>no_limits</c>/<c>false</c> (never say the limit was reached).</summary>
    private static int ReadRetryLimit(OutputOptions options)
    {
        var entry = options.Find("retry_limit");
        if (entry is null)
        {
            return 1;
        }

        var value = entry.Value.Trim();
        if (value.Equals("no_limits", StringComparison.OrdinalIgnoreCase) || value.Equals("false", StringComparison.OrdinalIgnoreCase) ||
            value.Equals("no_retries", StringComparison.OrdinalIgnoreCase))
        {
            return value.Equals("no_retries", StringComparison.OrdinalIgnoreCase) ? 1 : int.MaxValue;
        }

        return (int)ConfigValues.Integer(entry, 1, 1, int.MaxValue);
    }

    private static Uri? ReadEndpoint(OutputOptions options)
    {
        if (options.Find("endpoint") is not { } entry || entry.Value.Trim().Length == 0)
        {
            return null;
        }

        var text = entry.Value.Trim();
        if (!text.Contains("://", StringComparison.Ordinal))
        {
            text = "https://" + text;
        }

        return Uri.TryCreate(text, UriKind.Absolute, out var endpoint) && (endpoint.Scheme == Uri.UriSchemeHttp || endpoint.Scheme == Uri.UriSchemeHttps)
            ? endpoint
            : throw OutputOptions.Invalid(entry, "expected a host name or an http(s) URL");
    }

    private static string? EmptyToNull(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
