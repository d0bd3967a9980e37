using System.Collections.Concurrent;

namespace Gateway.Engine.Config;

public enum PluginKind
{
    Input,
    Filter,
    Output,
}

public enum PluginStatus
{
    /// <summary>Not a Fluent Bit plugin we know: a config naming it is an error.</summary>
    Unknown,

    /// <summary>A Fluent Bit plugin we intend to implement; accepted, reported as "not supported yet" under --dry-run.</summary>
    Planned,

    /// <summary>Implemented by Gateway.</summary>
    Supported,
}

/// <summary>A plugin's name and the option keys Fluent Bit accepts for it (besides the common keys of its kind).</summary>
public sealed class PluginDefinition
{
    internal PluginDefinition(PluginKind kind, string name, string[]? optionKeys, IReadOnlyDictionary<string, string>? keyHints = null)
    {
        Kind = kind;
        Name = name;
        ChecksKeys = optionKeys is not null;
        OptionKeys = optionKeys ?? [];
        KeyHints = keyHints ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    }

    public PluginKind Kind { get; }

    public string Name { get; }

    /// <summary>Option keys; an entry ending in <c>*</c> is a prefix (e.g. <c>tls.*</c>, <c>Parser_*</c>).</summary>
    public IReadOnlyList<string> OptionKeys { get; }

    /// <summary>False for plugins registered at run time without a key list: their options are not checked.</summary>
    public bool ChecksKeys { get; }

    /// <summary>
    /// Explanations for keys users commonly expect but the plugin does not have, where an edit-distance
    /// suggestion would mislead (systemd's <c>Read_From_Head</c> is closest to <c>Read_From_Tail</c>, the opposite).
    /// </summary>
    public IReadOnlyDictionary<string, string> KeyHints { get; }
}

/// <summary>
/// The input/filter/output plugins Gateway knows, their option keys (from Fluent Bit's docs and config maps) and
/// whether Gateway implements them. Status is a mutable registry so the issue that lands a plugin only calls
/// <see cref="MarkSupported"/> (or edits <see cref="SupportedByDefault"/>).
/// </summary>
public sealed class PluginCatalog
{
    /// <summary>Plugins implemented today; flip a plugin here when its implementation lands.</summary>
    public static readonly IReadOnlyList<(PluginKind Kind, string Name)> SupportedByDefault =
    [
        (PluginKind.Input, "forward"),
        (PluginKind.Input, "gateway_grpc"),
        (PluginKind.Input, "opentelemetry"),
        (PluginKind.Input, "tail"),
        (PluginKind.Input, "systemd"),
        (PluginKind.Filter, "aws"),
        (PluginKind.Filter, "grep"),
        (PluginKind.Filter, "modify"),
        (PluginKind.Filter, "nest"),
        (PluginKind.Filter, "record_modifier"),
        (PluginKind.Filter, "kubernetes"),
        (PluginKind.Filter, "parser"),
        (PluginKind.Output, "stdout"),
        (PluginKind.Output, "file"),
        (PluginKind.Output, "null"),
        (PluginKind.Output, "forward"),
        (PluginKind.Output, "gateway_grpc"),
        (PluginKind.Output, "cloudwatch_logs"),
        (PluginKind.Output, "cloudwatch"),
        (PluginKind.Output, "kinesis_firehose"),
        (PluginKind.Output, "firehose"),
        (PluginKind.Output, "kinesis_streams"),
        (PluginKind.Output, "kinesis"),
        (PluginKind.Output, "s3"),
    ];

    private static readonly string[] CommonInputKeys =
    [
        "Name", "Alias", "Tag", "Log_Level", "Log_Suppress_Interval", "Mem_Buf_Limit", "Threaded", "Routable",
        "storage.*", "Buffer_Chunk_Size", "Buffer_Max_Size", "Processors",
    ];

    private static readonly string[] CommonFilterKeys = ["Name", "Alias", "Match", "Match_Regex", "Log_Level", "Log_Suppress_Interval"];

    private static readonly string[] CommonOutputKeys =
    [
        "Name", "Alias", "Match", "Match_Regex", "Log_Level", "Log_Suppress_Interval", "Retry_Limit", "Workers",
        "storage.total_limit_size", "Processors",
    ];

    private static readonly string[] NetworkKeys = ["Host", "Port", "tls", "tls.*", "net.*"];

    private static readonly string[] AwsCredentialKeys = ["role_arn", "external_id", "endpoint", "sts_endpoint", "profile", "auto_retry_requests"];

    private readonly ConcurrentDictionary<(PluginKind, string), PluginDefinition> _definitions;
    private readonly ConcurrentDictionary<(PluginKind, string), PluginStatus> _statuses = new();

    private PluginCatalog(Dictionary<(PluginKind, string), PluginDefinition> definitions)
    {
        _definitions = new ConcurrentDictionary<(PluginKind, string), PluginDefinition>(definitions);
        foreach (var key in definitions.Keys)
        {
            _statuses[key] = PluginStatus.Planned;
        }

        foreach (var (kind, name) in SupportedByDefault)
        {
            _statuses[(kind, name)] = PluginStatus.Supported;
        }
    }

    /// <summary>The process-wide catalog used by <see cref="ConfigValidator"/> unless one is passed in.</summary>
    public static PluginCatalog Default { get; } = CreateBuiltIn();

    /// <summary>A fresh catalog with built-in statuses; tests use it to flip statuses without touching <see cref="Default"/>.</summary>
    public static PluginCatalog CreateBuiltIn()
    {
        var definitions = new Dictionary<(PluginKind, string), PluginDefinition>();
        void Add(PluginKind kind, string name, params string[][] keyGroups)
        {
            var keys = new List<string>();
            foreach (var group in keyGroups)
            {
                keys.AddRange(group);
            }

            definitions[(kind, name)] = new PluginDefinition(kind, name, keys.ToArray(), new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase));
        }

        void AddHint(PluginKind kind, string name, string key, string hint) =>
            ((Dictionary<string, string>)definitions[(kind, name)].KeyHints)[key] = hint;

        // Inputs.
        Add(PluginKind.Input, "forward",
        [
            "Listen", "Port", "Unix_Path", "Unix_Perm", "Tag_Prefix", "Shared_Key", "Self_Hostname",
            "Security.Users", "Empty_Shared_Key", "tls", "tls.*", "net.*",
        ]);
        Add(PluginKind.Input, "gateway_grpc", ["Listen", "Port", "Tag_Prefix", "auth_token_file", "tls", "tls.*"]);
        Add(PluginKind.Input, "opentelemetry", ["Listen", "Port", "auth_token_file", "tls", "tls.*"]);
        Add(PluginKind.Input, "tail",
        [
            "Path", "Path_Key", "Exclude_Path", "Offset_Key", "Read_from_Head", "Refresh_Interval", "Rotate_Wait",
            "Ignore_Older", "Skip_Long_Lines", "Skip_Empty_Lines", "DB", "DB.sync", "DB.locking", "DB.journal_mode",
            "DB.compare_filename", "Exit_On_Eof", "Parser", "Key", "Inotify_Watcher", "Tag_Regex", "Static_Batch_Size",
            "Event_Batch_Size", "File_Cache_Advise", "Unicode.Encoding", "Generic.Encoding", "Multiline",
            "Multiline_Flush", "Parser_Firstline", "Parser_*", "Docker_Mode", "Docker_Mode_Flush", "Docker_Mode_Parser",
            "multiline.parser", "progress_check_interval", "progress_check_interval_nsec", "Truncate_Long_Lines",
        ]);
        Add(PluginKind.Input, "systemd",
        [
            "Path", "Max_Fields", "Max_Entries", "Systemd_Filter", "Systemd_Filter_Type", "DB", "DB.Sync",
            "Read_From_Tail", "Lowercase", "Strip_Underscores",
        ]);
        AddHint(PluginKind.Input, "systemd", "Read_From_Head", "systemd has no Read_From_Head: it reads the journal from the start unless 'Read_From_Tail On' is set");

        // Filters.
        Add(PluginKind.Filter, "kubernetes",
        [
            "Buffer_Size", "Kube_URL", "Kube_CA_File", "Kube_CA_Path", "Kube_Token_File", "Kube_Token_Command",
            "Kube_Token_TTL", "Kube_Tag_Prefix", "Merge_Log", "Merge_Log_Key", "Merge_Log_Trim", "Merge_Parser",
            "Keep_Log", "tls.debug", "tls.verify", "tls.verify_hostname", "Use_Journal", "Cache_Use_Docker_Id",
            "Regex_Parser", "K8S-Logging.Parser", "K8S-Logging.Exclude", "Labels", "Annotations",
            "Kube_Meta_Preload_Cache_Dir", "Dummy_Meta", "DNS_Retries", "DNS_Wait_Time", "Use_Kubelet",
            "Use_Tag_For_Meta", "Kubelet_Host", "Kubelet_Port", "Kube_Meta_Cache_TTL", "Kube_Meta_Tombstone_TTL",
            "Kube_Meta_Namespace_Cache_TTL", "Namespace_Labels", "Namespace_Annotations", "Namespace_Metadata_Only",
            "Owner_References", "Use_Pod_Association", "AWS_Pod_Association_*",
        ]);
        Add(PluginKind.Filter, "grep", ["Regex", "Exclude", "Logical_Op"]);
        Add(PluginKind.Filter, "modify",
        [
            "Set", "Add", "Remove", "Remove_wildcard", "Remove_regex", "Rename", "Hard_rename", "Copy", "Hard_copy",
            "Move_to_start", "Move_to_end", "Condition",
        ]);
        Add(PluginKind.Filter, "nest", ["Operation", "Wildcard", "Nest_under", "Nested_under", "Add_prefix", "Remove_prefix"]);
        Add(PluginKind.Filter, "record_modifier", ["Record", "Remove_key", "Allowlist_key", "Whitelist_key", "Uuid_key"]);
        Add(PluginKind.Filter, "parser", ["Key_Name", "Parser", "Preserve_Key", "Reserve_Data", "Unescape_Key"]);
        Add(PluginKind.Filter, "aws",
        [
            "imds_version", "az", "ec2_instance_id", "ec2_instance_type", "private_ip", "ami_id", "account_id",
            "hostname", "vpc_id", "tags_enabled", "tags_include", "tags_exclude", "retry_interval_s",
        ]);
        Add(PluginKind.Filter, "multiline", ["multiline.parser", "multiline.key_content", "Mode", "Buffer", "Flush_ms", "Emitter_Name", "Emitter_Storage.type", "Emitter_Mem_Buf_Limit"]);

        // Outputs.
        Add(PluginKind.Output, "stdout", ["Format", "json_date_key", "json_date_format"]);
        Add(PluginKind.Output, "file", ["Path", "File", "Format", "Mkdir", "Delimiter", "Label_Delimiter", "Template", "csv_column_names"]);
        Add(PluginKind.Output, "null", []);
        Add(PluginKind.Output, "forward",
        [
            "Time_as_Integer", "Upstream", "Unix_Path", "Shared_Key", "Self_Hostname", "Empty_Shared_Key",
            "Send_options", "Require_ack_response", "Compress", "Username", "Password", "Tag",
            "Retain_metadata_in_forward_mode", "Fluentd_Compat", "Add_Option",
        ], NetworkKeys);

        // The shipper's gRPC link to the aggregator's gateway_grpc input.
        Add(PluginKind.Output, "gateway_grpc", [], NetworkKeys);
        string[] cloudWatchLogsKeys =
        [
            "region", "log_group_name", "log_group_template", "log_stream_name", "log_stream_prefix",
            "log_stream_template", "log_key", "log_format", "auto_create_group", "log_group_class",
            "log_retention_days", "metric_namespace", "metric_dimensions", "extra_user_agent", "new_log_group_tags",

            // Gateway's own: the memory for batching records of many chunks into full requests.
            "batch_mem_limit",
        ];
        Add(PluginKind.Output, "cloudwatch_logs", cloudWatchLogsKeys, AwsCredentialKeys);

        // The Go plugin from aws-for-fluent-bit; its keys overlap cloudwatch_logs.
        Add(PluginKind.Output, "cloudwatch", cloudWatchLogsKeys, AwsCredentialKeys, ["credentials_endpoint"]);
        Add(PluginKind.Output, "s3",
        [
            "region", "bucket", "json_date_key", "json_date_format", "total_file_size", "upload_chunk_size",
            "upload_timeout", "store_dir", "store_dir_limit_size", "s3_key_format", "s3_key_format_tag_delimiters",
            "static_file_path", "use_put_object", "canned_acl", "compression", "content_type", "send_content_md5",
            "log_key", "preserve_data_ordering", "storage_class", "retry_limit",
        ], AwsCredentialKeys);
        string[] firehoseKeys = ["region", "delivery_stream", "time_key", "time_key_format", "log_key", "compression", "custom_user_agent", "simple_aggregation"];
        Add(PluginKind.Output, "kinesis_firehose", firehoseKeys, AwsCredentialKeys);

        // The Go plugins from aws-for-fluent-bit.
        Add(PluginKind.Output, "firehose", firehoseKeys, AwsCredentialKeys, ["data_keys", "replace_dots"]);
        string[] streamsKeys = ["region", "stream", "time_key", "time_key_format", "log_key", "compression", "partition_key", "simple_aggregation", "custom_user_agent"];
        Add(PluginKind.Output, "kinesis_streams", streamsKeys, AwsCredentialKeys);
        Add(PluginKind.Output, "kinesis", streamsKeys, AwsCredentialKeys,
            ["data_keys", "replace_dots", "append_newline", "aggregation", "experimental_concurrency", "experimental_concurrency_retries", "http_request_timeout"]);
        Add(PluginKind.Output, "opentelemetry",
        [
            "Http_User", "Http_Passwd", "Proxy", "Metrics_uri", "Logs_uri", "Traces_uri", "Header",
            "Log_response_payload", "Add_label", "Compress", "grpc", "http2", "batch_size", "logs_*",
            "logs_body_key", "logs_body_key_attributes",
        ], NetworkKeys);

        return new PluginCatalog(definitions);
    }

    public PluginDefinition? Find(PluginKind kind, string name) =>
        _definitions.GetValueOrDefault((kind, Normalize(name)));

    public PluginStatus GetStatus(PluginKind kind, string name) =>
        _statuses.TryGetValue((kind, Normalize(name)), out var status) ? status : PluginStatus.Unknown;

    /// <summary>
    /// Sets a plugin's status. A name the catalog does not know is added without a key list, so its options are
    /// accepted unchecked until keys are added to <see cref="CreateBuiltIn"/>.
    /// </summary>
    public void SetStatus(PluginKind kind, string name, PluginStatus status)
    {
        var key = (kind, Normalize(name));
        _definitions.TryAdd(key, new PluginDefinition(kind, key.Item2, null));

        _statuses[key] = status;
    }

    public void MarkSupported(PluginKind kind, string name) => SetStatus(kind, name, PluginStatus.Supported);

    /// <summary>Every known plugin of a kind, for suggestions in "unknown plugin" errors.</summary>
    public IReadOnlyList<string> NamesOf(PluginKind kind)
    {
        var names = new List<string>();
        foreach (var key in _definitions.Keys)
        {
            if (key.Item1 == kind)
            {
                names.Add(key.Item2);
            }
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Keys every plugin of the kind accepts (e.g. <c>Match</c>, <c>Retry_Limit</c>, <c>storage.*</c>).</summary>
    public static IReadOnlyList<string> CommonKeysOf(PluginKind kind) => kind switch
    {
        PluginKind.Input => CommonInputKeys,
        PluginKind.Filter => CommonFilterKeys,
        _ => CommonOutputKeys,
    };

    /// <summary>True when <paramref name="key"/> is a common key of the kind or one of the plugin's keys.</summary>
    public static bool AcceptsKey(PluginDefinition definition, string key) =>
        KeyListContains(CommonKeysOf(definition.Kind), key) || KeyListContains(definition.OptionKeys, key);

    internal static bool KeyListContains(IReadOnlyList<string> keys, string key)
    {
        foreach (var known in keys)
        {
            if (known.EndsWith('*'))
            {
                if (key.Length >= known.Length && key.AsSpan().StartsWith(known.AsSpan(0, known.Length - 1), StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
            else if (string.Equals(known, key, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static string Normalize(string name) => name.Trim().ToLowerInvariant();
}
