using Gateway.Engine.Config;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs;

/// <summary>
/// Creates output instances from <c>[OUTPUT]</c> sections. Options are validated here, so a bad config fails at
/// startup with a <see cref="ConfigException"/> naming file and line, never at the first flush.
/// </summary>
public static class OutputFactory
{
    /// <summary>Plugin names this factory builds.</summary>
    public static IReadOnlyCollection<string> PluginNames { get; } =
        ["null", "stdout", "file", "forward", "cloudwatch_logs", "cloudwatch", "kinesis_firehose", "firehose", "kinesis_streams", "kinesis", "s3"];

    /// <summary>
    /// A factory for the host: names instances as Fluent Bit does — the section's <c>Alias</c>, else
    /// <c>plugin.N</c> with N counting instances of that plugin in the order they are created (<c>file.0</c>,
    /// <c>file.1</c>, <c>stdout.0</c>).
    /// </summary>
    /// <param name="service">The <c>[SERVICE]</c> section, for <c>json.escape_unicode</c> and <c>json.convert_nan_to_null</c>.</param>
    public static Func<ConfigSection, IOutput> ForHost(ILoggerFactory loggerFactory, ConfigSection? service = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        var escapeUnicode = ConfigValues.Bool(service?.Find("json.escape_unicode"), true);
        var nanToNull = ConfigValues.Bool(service?.Find("json.convert_nan_to_null"), false);
        var counters = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var gate = new Lock();
        return section =>
        {
            var plugin = section.PluginName?.Trim() ?? string.Empty;
            string name;
            lock (gate)
            {
                counters.TryGetValue(plugin, out var index);
                counters[plugin] = index + 1;
                var alias = section.Get("Alias");
                name = string.IsNullOrWhiteSpace(alias) ? $"{plugin.ToLowerInvariant()}.{index}" : alias.Trim();
            }

            return Create(section, new OutputContext
            {
                InstanceName = name,
                LoggerFactory = loggerFactory,
                TimeProvider = timeProvider ?? TimeProvider.System,
                JsonEscapeUnicode = escapeUnicode,
                JsonConvertNanToNull = nanToNull,
            });
        };
    }

    /// <exception cref="ConfigException">Unknown plugin, unknown key or invalid value.</exception>
    public static IOutput Create(ConfigSection section, OutputContext context)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(context);
        var nameEntry = section.Find("Name") ?? throw new ConfigException(section.Location, "output section has no 'Name'");
        var plugin = nameEntry.Value.Trim().ToLowerInvariant();
        return plugin switch
        {
            "null" => CreateNull(section, context),
            "stdout" => CreateStdout(section, context),
            "file" => CreateFile(section, context),
            "forward" => ForwardOutputFactory.Create(section, context),
            "cloudwatch_logs" or "cloudwatch" => CloudWatch.CloudWatchOutputFactory.Create(section, context),
            "kinesis_firehose" or "firehose" or "kinesis_streams" or "kinesis" => Kinesis.KinesisOutputFactory.Create(section, context),
            "s3" => S3.S3OutputFactory.Create(section, context),
            _ => throw new ConfigException(nameEntry.Location, $"unknown output plugin '{nameEntry.Value}'"),
        };
    }

    private static NullOutput CreateNull(ConfigSection section, OutputContext context)
    {
        new OutputOptions(section).RejectUnknownKeys("null");
        return new NullOutput(context.InstanceName);
    }

    private static StdoutOutput CreateStdout(ConfigSection section, OutputContext context)
    {
        var options = new OutputOptions(section, "format", "json_date_key", "json_date_format");
        options.RejectUnknownKeys("stdout");
        var format = StdoutFormat.Msgpack;
        if (options.Find("format") is { } formatEntry)
        {
            format = formatEntry.Value.Trim().ToLowerInvariant() switch
            {
                "msgpack" => StdoutFormat.Msgpack,
                "json" => StdoutFormat.Json,
                "json_lines" => StdoutFormat.JsonLines,
                "json_stream" => StdoutFormat.JsonStream,
                _ => throw OutputOptions.Invalid(formatEntry, "expected msgpack, json, json_lines or json_stream"),
            };
        }

        var (dateFormat, dateKey) = ReadJsonDate(options);
        var stream = context.StandardOutput ?? Console.OpenStandardOutput();
        return new StdoutOutput(context.InstanceName, stream, format, dateFormat, dateKey, context.JsonFlags, Logger(context));
    }

    private static FileOutput CreateFile(ConfigSection section, OutputContext context)
    {
        var options = new OutputOptions(section, "path", "file", "mkdir", "format", "delimiter", "label_delimiter", "template", "csv_column_names");
        options.RejectUnknownKeys("file");
        var logger = Logger(context);
        var format = FileLineFormat.OutFile;
        if (options.Find("format") is { } formatEntry)
        {
            format = formatEntry.Value.Trim().ToLowerInvariant() switch
            {
                "out_file" => FileLineFormat.OutFile,
                "plain" => FileLineFormat.Plain,
                "csv" => FileLineFormat.Csv,
                "ltsv" => FileLineFormat.Ltsv,
                "template" => FileLineFormat.Template,
                "msgpack" => FileLineFormat.Msgpack,
                _ => throw OutputOptions.Invalid(formatEntry, "expected out_file, plain, csv, ltsv, template or msgpack"),
            };
        }

        var delimiter = format == FileLineFormat.Ltsv ? "\t" : ",";
        delimiter = ReadDelimiter(options, "delimiter", delimiter, logger);
        var labelDelimiter = ReadDelimiter(options, "label_delimiter", ":", logger);
        var settings = new FileOutputSettings(
            Directory: EmptyToNull(options.GetString("path")),
            FileName: EmptyToNull(options.GetString("file")),
            Mkdir: options.GetBool("mkdir", false),
            Format: format,
            Delimiter: delimiter,
            LabelDelimiter: labelDelimiter,
            Template: options.GetString("template", "{time} {message}"),
            CsvColumnNames: options.GetBool("csv_column_names", false),
            JsonFlags: context.JsonFlags);
        return new FileOutput(context.InstanceName, settings, context.BaseDirectory, logger);
    }

    /// <summary><c>json_date_key</c> (default <c>date</c>; a false value removes it) and <c>json_date_format</c>.</summary>
    internal static (JsonDateFormat Format, string? Key) ReadJsonDate(OutputOptions options)
    {
        var dateFormat = JsonDateFormat.Double;
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

        return (dateFormat, dateKey);
    }

    /// <summary>Fluent Bit accepts only <c>\t</c>/<c>tab</c>, <c>space</c> and <c>comma</c> and silently keeps the default otherwise; we keep the default but say so.</summary>
    private static string ReadDelimiter(OutputOptions options, string key, string fallback, ILogger logger)
    {
        var entry = options.Find(key);
        if (entry is null)
        {
            return fallback;
        }

        var value = entry.Value.Trim();
        if (value.Equals("\\t", StringComparison.OrdinalIgnoreCase) || value.Equals("tab", StringComparison.OrdinalIgnoreCase))
        {
            return "\t";
        }

        if (value.Equals("space", StringComparison.OrdinalIgnoreCase))
        {
            return " ";
        }

        if (value.Equals("comma", StringComparison.OrdinalIgnoreCase))
        {
            return ",";
        }

        OutputLog.UnknownDelimiter(logger, entry.Location.ToString(), entry.Key, entry.Value);
        return fallback;
    }

    private static string? EmptyToNull(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    internal static ILogger Logger(OutputContext context) => context.LoggerFactory.CreateLogger("Gateway.Aggregator.Outputs." + context.InstanceName);
}
