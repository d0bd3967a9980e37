using Amazon.Runtime;
using Gateway.Engine.Aws;
using Gateway.Engine.Config;
using Gateway.Engine.RecordAccessor;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// Builds <c>cloudwatch_logs</c> (Fluent Bit's C plugin) and <c>cloudwatch</c> (the Go plugin) outputs. Both
/// share one implementation; they differ in defaults and template syntax, as the two plugins do.
/// </summary>
internal static class CloudWatchOutputFactory
{
    private static readonly string[] Keys =
    [
        "region", "log_group_name", "log_group_template", "log_stream_name", "log_stream_prefix", "log_stream_template",
        "log_key", "log_format", "auto_create_group", "log_retention_days", "log_group_class", "extra_user_agent",
        "role_arn", "external_id", "endpoint", "sts_endpoint", "profile", "metric_namespace", "metric_dimensions",
        "auto_retry_requests", "default_log_group_name", "default_log_stream_name", "auto_create_stream", "batch_mem_limit",
        "new_log_group_tags", "credentials_endpoint",
    ];

    private static readonly HashSet<string> GroupClasses = new(StringComparer.Ordinal) { "STANDARD", "INFREQUENT_ACCESS", "DELIVERY" };

    public static CloudWatchOutput Create(ConfigSection section, OutputContext context) => Create(section, context, sourceCredentials: null);

    /// <param name="sourceCredentials">Test hook: credentials to start from instead of the SDK chain (role_arn still applies).</param>
    internal static CloudWatchOutput Create(ConfigSection section, OutputContext context, AWSCredentials? sourceCredentials)
    {
        var logger = OutputFactory.Logger(context);
        var settings = ReadSettings(section, logger) with { FlushInterval = context.FlushInterval };
        var credentials = AwsCredentialsSource.Resolve(
            new AwsCredentialOptions(settings.Region, settings.Profile, settings.RoleArn, settings.ExternalId, settings.StsEndpoint),
            sourceCredentials);
        var client = CloudWatchLogsClient.Create(
            settings.Region,
            settings.Endpoint,
            credentials,
            settings.ExtraUserAgent,
            settings.MaxConcurrentRequests * Math.Max(1, settings.Workers),
            context.TimeProvider,
            settings.LogFormat);
        return new CloudWatchOutput(context.InstanceName, settings, client, context, logger);
    }

    /// <exception cref="ConfigException">A missing or invalid option, naming file and line.</exception>
    internal static CloudWatchOutputSettings ReadSettings(ConfigSection section, ILogger logger)
    {
        var plugin = section.PluginName?.Trim().ToLowerInvariant() ?? "cloudwatch_logs";
        var goPlugin = plugin == "cloudwatch";
        var options = new OutputOptions(section, Keys);
        foreach (var entry in options.UnknownEntries())
        {
            // The Go plugin ignores keys it does not know, and real configs carry filter keys in output sections
            // (the seeds do): warn rather than refuse to start.
            CloudWatchLog.IgnoredOption(logger, entry.Location.ToString(), plugin, entry.Key);
        }

        var region = Required(section, options, "region", plugin);
        _ = Required(section, options, "log_group_name", plugin);
        var streamNameEntry = options.Find("log_stream_name");
        var streamPrefixEntry = options.Find("log_stream_prefix");
        if (streamNameEntry is null && streamPrefixEntry is null)
        {
            throw new ConfigException(section.Location, $"{plugin}: either 'log_stream_name' or 'log_stream_prefix' is required");
        }

        if (streamNameEntry is not null && streamPrefixEntry is not null)
        {
            throw new ConfigException(streamPrefixEntry.Location, $"{plugin}: 'log_stream_name' and 'log_stream_prefix' cannot both be set");
        }

        var groupTemplateEntry = options.Find("log_group_template");
        var streamTemplateEntry = options.Find("log_stream_template");

        // Names may be templates: the Go plugin's $(...) everywhere, Fluent Bit's record accessor in *_template.
        var group = groupTemplateEntry is not null
            ? Template(groupTemplateEntry, legacy: true, recordAccessor: true)
            : Template(options.Find("log_group_name")!, legacy: true, recordAccessor: false);
        var streamBase = streamNameEntry is not null
            ? Template(streamNameEntry, legacy: true, recordAccessor: false)
            : Template(streamPrefixEntry!, legacy: true, recordAccessor: false, appendTag: true);
        var stream = streamTemplateEntry is not null ? Template(streamTemplateEntry, legacy: true, recordAccessor: true) : streamBase;

        CloudWatchNameTemplate groupFallback;
        CloudWatchNameTemplate streamFallback;
        if (goPlugin)
        {
            groupFallback = CloudWatchNameTemplate.Parse(options.Find("default_log_group_name") is { } g ? NameText(g) : "fluentbit-default", false, false);
            streamFallback = CloudWatchNameTemplate.Parse(options.Find("default_log_stream_name") is { } s ? NameText(s) : "/fluentbit-default", false, false);
        }
        else
        {
            groupFallback = CloudWatchNameTemplate.Parse(NameText(options.Find("log_group_name")!), false, false);
            streamFallback = streamNameEntry is not null
                ? CloudWatchNameTemplate.Parse(NameText(streamNameEntry), false, false)
                : CloudWatchNameTemplate.Parse(NameText(streamPrefixEntry!), false, false, appendTag: true);
        }

        // 0 (the default) leaves the group's retention alone, as Fluent Bit does.
        var retentionDays = options.GetInt("log_retention_days", 0, 0, 3653);
        int? retention = retentionDays > 0 ? retentionDays : null;

        string? groupClass = null;
        if (options.Find("log_group_class") is { } classEntry)
        {
            groupClass = classEntry.Value.Trim().ToUpperInvariant();
            if (!GroupClasses.Contains(groupClass))
            {
                throw OutputOptions.Invalid(classEntry, "expected STANDARD, INFREQUENT_ACCESS or DELIVERY");
            }
        }

        string? logFormat = null;
        if (options.Find("log_format") is { } formatEntry)
        {
            logFormat = formatEntry.Value.Trim().ToLowerInvariant() switch
            {
                "json" or "" => null,
                "json/emf" or "json_emf" => "json/emf",
                _ => throw OutputOptions.Invalid(formatEntry, "expected json or json/emf"),
            };
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

        var workers = options.GetInt("workers", 1, 1, 64);
        return new CloudWatchOutputSettings
        {
            Plugin = plugin,
            Region = region,
            Endpoint = endpoint,
            StsEndpoint = EmptyToNull(options.GetString("sts_endpoint")),
            Profile = EmptyToNull(options.GetString("profile")),
            RoleArn = EmptyToNull(options.GetString("role_arn")),
            ExternalId = EmptyToNull(options.GetString("external_id")),
            Group = group,
            GroupFallback = groupFallback,
            Stream = stream,
            StreamFallback = streamFallback,
            LogKey = EmptyToNull(options.GetString("log_key")),
            LogFormat = logFormat,
            AutoCreateGroup = options.GetBool("auto_create_group", false),
            RetentionDays = retention,
            LogGroupClass = groupClass,
            ExtraUserAgent = EmptyToNull(options.GetString("extra_user_agent")),
            MetricNamespace = EmptyToNull(options.GetString("metric_namespace")),
            MetricDimensions = EmptyToNull(options.GetString("metric_dimensions")),
            AutoRetryRequests = options.GetBool("auto_retry_requests", true),
            Workers = workers,
            MaxHeldBytes = options.GetSize("batch_mem_limit", CloudWatchOutputSettings.DefaultMaxHeldBytes, 1024 * 1024),
        };
    }

    private static CloudWatchNameTemplate Template(ConfigEntry entry, bool legacy, bool recordAccessor, bool appendTag = false)
    {
        try
        {
            return CloudWatchNameTemplate.Parse(NameText(entry), legacy, recordAccessor, appendTag);
        }
        catch (RecordAccessorSyntaxException ex)
        {
            throw OutputOptions.Invalid(entry, ex.Message);
        }
    }

    /// <summary>
    /// The name as written with node variables kept (the config reader's <see cref="ConfigEntry.NodeTemplate"/>),
    /// so <c>${HOST_NAME}</c> names the node each chunk came from rather than the aggregator.
    /// </summary>
    private static string NameText(ConfigEntry entry) => (entry.NodeTemplate ?? entry.Value).Trim();

    private static string Required(ConfigSection section, OutputOptions options, string key, string plugin)
    {
        var value = options.GetString(key);
        return string.IsNullOrWhiteSpace(value)
            ? throw new ConfigException(options.Find(key)?.Location ?? section.Location, $"{plugin}: '{key}' is required")
            : value.Trim();
    }

    private static string? EmptyToNull(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
