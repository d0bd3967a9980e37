using Amazon.Runtime;
using Gateway.Engine.Aws;
using Gateway.Engine.Config;
using Gateway.Engine.RecordAccessor;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs.Kinesis;

/// <summary>
/// Builds the Firehose outputs — <c>kinesis_firehose</c> (Fluent Bit's C plugin) and <c>firehose</c> (the Go plugin
/// of aws-for-fluent-bit) — and the Kinesis Data Streams outputs <c>kinesis_streams</c> (C) and <c>kinesis</c> (Go).
/// One implementation serves all four; the Go names also accept their plugin's own keys.
/// </summary>
internal static class KinesisOutputFactory
{
    public static readonly string[] FirehoseNames = ["kinesis_firehose", "firehose"];
    public static readonly string[] StreamsNames = ["kinesis_streams", "kinesis"];

    private static readonly string[] Keys =
    [
        "region", "delivery_stream", "stream", "time_key", "time_key_format", "log_key", "compression", "role_arn",
        "external_id", "endpoint", "sts_endpoint", "profile", "auto_retry_requests", "simple_aggregation",
        "partition_key", "data_keys", "append_newline", "custom_user_agent", "experimental_concurrency",
        "experimental_concurrency_retries", "replace_dots", "aggregation", "http_request_timeout",
    ];

    public static bool Handles(string plugin) =>
        Array.IndexOf(FirehoseNames, plugin) >= 0 || Array.IndexOf(StreamsNames, plugin) >= 0;

    public static KinesisOutput Create(ConfigSection section, OutputContext context) => Create(section, context, sourceCredentials: null);

    /// <param name="sourceCredentials">Test hook: credentials to start from instead of the SDK chain (role_arn still applies).</param>
    internal static KinesisOutput Create(ConfigSection section, OutputContext context, AWSCredentials? sourceCredentials)
    {
        var logger = OutputFactory.Logger(context);
        var settings = ReadSettings(section, logger);
        var credentials = AwsCredentialsSource.Resolve(
            new AwsCredentialOptions(settings.Region, settings.Profile, settings.RoleArn, settings.ExternalId, settings.StsEndpoint),
            sourceCredentials);
        var client = KinesisRecordsClient.Create(settings.Service, settings.Region, settings.Endpoint, credentials, settings.ExtraUserAgent, Math.Max(2, settings.Workers * 2), context.TimeProvider);
        return new KinesisOutput(context.InstanceName, settings, client, context, logger);
    }

    /// <exception cref="ConfigException">A missing or invalid option, naming file and line.</exception>
    internal static KinesisOutputSettings ReadSettings(ConfigSection section, ILogger logger)
    {
        var plugin = section.PluginName?.Trim().ToLowerInvariant() ?? "kinesis_firehose";
        var service = Array.IndexOf(StreamsNames, plugin) >= 0 ? KinesisService.Streams : KinesisService.Firehose;
        var goPlugin = plugin is "firehose" or "kinesis";
        var options = new OutputOptions(section, Keys);
        foreach (var entry in options.UnknownEntries())
        {
            // Like the CloudWatch output: real configs carry stray keys in output sections; warn, do not refuse to start.
            KinesisLog.IgnoredOption(logger, entry.Location.ToString(), plugin, entry.Key);
        }

        var region = Required(section, options, "region", plugin);
        var streamKey = service == KinesisService.Firehose ? "delivery_stream" : "stream";
        var streamName = Required(section, options, streamKey, plugin);
        var otherStreamKey = service == KinesisService.Firehose ? "stream" : "delivery_stream";
        if (options.Find(otherStreamKey) is { } misplaced)
        {
            throw new ConfigException(misplaced.Location, $"{plugin}: '{otherStreamKey}' belongs to the {(service == KinesisService.Firehose ? "kinesis_streams" : "kinesis_firehose")} output; this one takes '{streamKey}'");
        }

        if (service == KinesisService.Firehose && options.Find("partition_key") is { } partitionEntry)
        {
            throw new ConfigException(partitionEntry.Location, $"{plugin}: 'partition_key' applies to Kinesis Data Streams only; Firehose records have no partition key");
        }

        foreach (var unsupported in (ReadOnlySpan<string>)["replace_dots", "aggregation"])
        {
            if (options.Find(unsupported) is { } entry && OutputOptions.ParseBool(entry) != false && entry.Value.Trim().Length > 0)
            {
                throw new ConfigException(entry.Location, unsupported == "aggregation"
                    ? $"{plugin}: KPL 'aggregation' is not supported; use 'simple_aggregation On' (newline-separated records packed into one)"
                    : $"{plugin}: 'replace_dots' is not supported; rename keys with a 'modify' filter (Rename) instead");
            }
        }

        var timeFormat = AwsTimeFormat.Parse(AwsTimeFormat.DefaultPattern);
        if (options.Find("time_key_format") is { } formatEntry)
        {
            try
            {
                timeFormat = AwsTimeFormat.Parse(formatEntry.Value.Trim());
            }
            catch (FormatException ex)
            {
                throw OutputOptions.Invalid(formatEntry, ex.Message);
            }
        }

        var compression = KinesisCompression.None;
        if (options.Find("compression") is { } compressionEntry)
        {
            compression = compressionEntry.Value.Trim().ToLowerInvariant() switch
            {
                "" or "none" or "off" => KinesisCompression.None,
                "gzip" => KinesisCompression.Gzip,
                "zstd" => KinesisCompression.Zstd,
                _ => throw OutputOptions.Invalid(compressionEntry, "expected gzip or zstd ('arrow' and 'parquet' are not supported)"),
            };
        }

        var logKey = EmptyToNull(options.GetString("log_key"));
        var partitionKey = EmptyToNull(options.GetString("partition_key"));
        CheckKey(options, "log_key", logKey);
        CheckKey(options, "partition_key", partitionKey);

        List<string>? dataKeys = null;
        if (EmptyToNull(options.GetString("data_keys")) is { } dataKeysText)
        {
            if (logKey is not null)
            {
                throw new ConfigException(options.Find("data_keys")!.Location, $"{plugin}: 'data_keys' and 'log_key' cannot both be set");
            }

            dataKeys = [.. dataKeysText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)];
        }

        Uri? endpoint = null;
        if (options.Find("endpoint") is { } endpointEntry && endpointEntry.Value.Trim().Length > 0)
        {
            var text = endpointEntry.Value.Trim();
            if (!text.Contains("://", StringComparison.Ordinal))
            {
                text = "https://" + text;
            }

            if (!Uri.TryCreate(text, UriKind.Absolute, out endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
            {
                throw OutputOptions.Invalid(endpointEntry, "expected a host name or an http(s) URL");
            }
        }

        return new KinesisOutputSettings
        {
            Service = service,
            Plugin = plugin,
            Region = region,
            StreamName = streamName,
            Endpoint = endpoint,
            StsEndpoint = EmptyToNull(options.GetString("sts_endpoint")),
            Profile = EmptyToNull(options.GetString("profile")),
            RoleArn = EmptyToNull(options.GetString("role_arn")),
            ExternalId = EmptyToNull(options.GetString("external_id")),
            TimeKey = EmptyToNull(options.GetString("time_key")),
            TimeKeyFormat = timeFormat,
            LogKey = logKey,
            DataKeys = dataKeys,
            Compression = compression,
            PartitionKey = partitionKey,
            SimpleAggregation = options.GetBool("simple_aggregation", false),

            // Every plugin but the Go kinesis one ends each record with a newline; that one only with append_newline.
            AppendNewline = options.GetBool("append_newline", !(goPlugin && service == KinesisService.Streams)),
            ExtraUserAgent = EmptyToNull(options.GetString("custom_user_agent")),
            AutoRetryRequests = options.GetBool("auto_retry_requests", true),
            Workers = options.GetInt("workers", 1, 1, 64),
        };
    }

    private static void CheckKey(OutputOptions options, string key, string? value)
    {
        if (value is not null && !RecordAccessor.TryParse("$" + value, out _, out var error))
        {
            throw OutputOptions.Invalid(options.Find(key)!, error ?? "not a record key");
        }
    }

    private static string Required(ConfigSection section, OutputOptions options, string key, string plugin)
    {
        var value = options.GetString(key);
        return string.IsNullOrWhiteSpace(value)
            ? throw new ConfigException(options.Find(key)?.Location ?? section.Location, $"{plugin}: '{key}' is required")
            : value.Trim();
    }

    private static string? EmptyToNull(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
