using System.Globalization;
using System.Text.RegularExpressions;
using Gateway.Engine.Config;
using Gateway.Shipper.Container;
using Gateway.Shipper.State;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>
/// The options of one <c>[INPUT] Name tail</c> section, with Fluent Bit's defaults and spellings
/// (keys are case-insensitive). Build it with <see cref="FromSection"/>.
/// </summary>
public sealed record TailInputOptions
{
    /// <summary>The option naming a directory that <c>/var/log/...</c>-style paths are re-rooted under (tests, chroots).</summary>
    public const string PathRootKey = "Gateway.PathRoot";

    /// <summary>Environment variable alternative to <see cref="PathRootKey"/>.</summary>
    public const string PathRootEnvironmentVariable = "GATEWAY_PATH_ROOT";

    private static readonly HashSet<string> KnownKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        // generic input properties
        "Name", "Alias", "Tag", "Log_Level", "Mem_Buf_Limit", "storage.type", "storage.pause_on_chunks_overlimit",
        "Threaded", "Routable", "Log_Suppress_Interval",

        // tail
        "Path", "Exclude_Path", "Tag_Regex", "Read_from_Head", "Refresh_Interval", "Rotate_Wait", "Skip_Long_Lines",
        "Skip_Empty_Lines", "Buffer_Chunk_Size", "Buffer_Max_Size", "Path_Key", "Offset_Key", "Key", "DB", "DB.sync",
        "DB.locking", "DB.journal_mode", "DB.compare_filename", "Parser", "Docker_Mode", "Docker_Mode_Flush",
        "Docker_Mode_Parser", "multiline.parser", "Inotify_Watcher", "Exit_On_Eof", PathRootKey,

        // Fluent Bit read-loop tuning with no equivalent here (the loop reads per Buffer_Chunk_Size): accepted.
        "Static_Batch_Size", "Event_Batch_Size", "File_Cache_Advise", "progress_check_interval", "progress_check_interval_nsec",

        // recognised but not implemented: reported below
        "Multiline", "Multiline_Flush", "Parser_Firstline", "Ignore_Older", "Unicode.Encoding", "Generic.Encoding",
        "Truncate_Long_Lines",
    };

    public IReadOnlyList<string> Paths { get; init; } = [];

    public IReadOnlyList<string> ExcludePaths { get; init; } = [];

    /// <summary>The tag; a <c>*</c> is replaced by the file path (see <see cref="TailTagComposer"/>).</summary>
    public string Tag { get; init; } = "tail.0";

    public Regex? TagRegex { get; init; }

    public bool ReadFromHead { get; init; }

    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(60);

    public TimeSpan RotateWait { get; init; } = TimeSpan.FromSeconds(5);

    public bool SkipLongLines { get; init; }

    public bool SkipEmptyLines { get; init; }

    public int BufferChunkSize { get; init; } = 32 * 1024;

    public int BufferMaxSize { get; init; } = 32 * 1024;

    /// <summary>Unacknowledged bytes at which reading pauses; 0 = no limit.</summary>
    public long MemBufLimit { get; init; }

    public string? PathKey { get; init; }

    public string? OffsetKey { get; init; }

    public string Key { get; init; } = "log";

    public string? DbPath { get; init; }

    public OffsetSyncMode DbSync { get; init; } = OffsetSyncMode.Normal;

    public string? Parser { get; init; }

    public bool DockerMode { get; init; }

    public TimeSpan DockerModeFlush { get; init; } = TimeSpan.FromSeconds(4);

    public IReadOnlyList<ContainerMultilineParser> MultilineParsers { get; init; } = [];

    /// <summary>Directory the configured paths are re-rooted under; tags and <c>Path_Key</c> keep the configured path.</summary>
    public string? PathRoot { get; init; }

    /// <summary>How often files are checked when no file-system event arrived (Fluent Bit's stat backend: 250 ms).</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MultilineFlushTimeout { get; init; } = ContainerMultilineProcessor.DefaultFlushTimeout;

    /// <summary>
    /// Reads a tail section. Problems are added to <paramref name="diagnostics"/> with the file and line of the
    /// offending entry; returns null when any of them is an error.
    /// </summary>
    public static TailInputOptions? FromSection(ConfigSection section, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(section);
        var reader = new SectionReader(section, diagnostics);

        foreach (var entry in section.Entries)
        {
            if (!KnownKeys.Contains(entry.Key) && !entry.Key.StartsWith("Parser_", StringComparison.OrdinalIgnoreCase))
            {
                reader.Warn(entry, $"unknown tail option '{entry.Key}' is ignored");
            }
        }

        var paths = reader.List("Path");
        if (paths.Count == 0)
        {
            reader.Error(section.Location, "tail input needs 'Path' (one or more globs, comma separated)");
        }

        var multiline = new List<ContainerMultilineParser>();
        foreach (var entry in section.FindAll("multiline.parser"))
        {
            foreach (var name in SplitList(entry.Value))
            {
                if (name.Equals("docker", StringComparison.OrdinalIgnoreCase))
                {
                    multiline.Add(ContainerMultilineParser.Docker);
                }
                else if (name.Equals("cri", StringComparison.OrdinalIgnoreCase))
                {
                    multiline.Add(ContainerMultilineParser.Cri);
                }
                else
                {
                    reader.Error(entry, $"multiline.parser '{name}' is not supported by the shipper (supported: docker, cri)");
                }
            }
        }

        var dockerMode = reader.Bool("Docker_Mode", false);
        if (dockerMode && multiline.Count > 0)
        {
            reader.Error(section.Find("Docker_Mode")!, "Docker_Mode cannot be combined with multiline.parser");
        }

        foreach (var unsupported in new[] { "Multiline", "Parser_Firstline" })
        {
            var e = section.Find(unsupported);
            if (e is not null && !(unsupported == "Multiline" && IsFalse(e.Value)))
            {
                reader.Error(e, $"'{unsupported}' (the old tail multiline mode) is not supported; use 'multiline.parser'");
            }
        }

        foreach (var ignored in new[] { "Docker_Mode_Parser", "Ignore_Older", "Unicode.Encoding", "Generic.Encoding", "Multiline_Flush", "Truncate_Long_Lines" })
        {
            var e = section.Find(ignored);
            if (e is not null)
            {
                reader.Warn(e, $"'{ignored}' is not implemented by the shipper yet and is ignored");
            }
        }

        Regex? tagRegex = null;
        var tagRegexEntry = section.Find("Tag_Regex");
        if (tagRegexEntry is not null)
        {
            try
            {
                tagRegex = new Regex(tagRegexEntry.Value, RegexOptions.CultureInvariant);
            }
            catch (ArgumentException ex)
            {
                reader.Error(tagRegexEntry, $"Tag_Regex is not a valid regular expression: {ex.Message}");
            }
        }

        var chunk = reader.Size("Buffer_Chunk_Size", 32 * 1024);
        var max = reader.Size("Buffer_Max_Size", 32 * 1024);
        if (max < chunk)
        {
            // Fluent Bit raises the max to the chunk size rather than refusing.
            max = chunk;
        }

        var pathRoot = section.Get(PathRootKey);
        if (string.IsNullOrEmpty(pathRoot))
        {
            pathRoot = Environment.GetEnvironmentVariable(PathRootEnvironmentVariable);
        }

        var options = new TailInputOptions
        {
            Paths = paths,
            ExcludePaths = reader.List("Exclude_Path"),
            Tag = string.IsNullOrWhiteSpace(section.Get("Tag")) ? "tail.0" : section.Get("Tag")!.Trim(),
            TagRegex = tagRegex,
            ReadFromHead = reader.Bool("Read_from_Head", false),
            RefreshInterval = reader.Seconds("Refresh_Interval", 60),
            RotateWait = reader.Seconds("Rotate_Wait", 5),
            SkipLongLines = reader.Bool("Skip_Long_Lines", false),
            SkipEmptyLines = reader.Bool("Skip_Empty_Lines", false),
            BufferChunkSize = (int)Math.Min(chunk, int.MaxValue / 4),
            BufferMaxSize = (int)Math.Min(max, int.MaxValue / 4),
            MemBufLimit = reader.Size("Mem_Buf_Limit", 0),
            PathKey = NullIfEmpty(section.Get("Path_Key")),
            OffsetKey = NullIfEmpty(section.Get("Offset_Key")),
            Key = NullIfEmpty(section.Get("Key")) ?? "log",
            DbPath = NullIfEmpty(section.Get("DB")),
            DbSync = reader.Sync("DB.sync"),
            Parser = NullIfEmpty(section.Get("Parser")),
            DockerMode = dockerMode,
            DockerModeFlush = reader.Seconds("Docker_Mode_Flush", 4, minimum: 1),
            MultilineParsers = multiline,
            PathRoot = NullIfEmpty(pathRoot),
        };

        if (options.TagRegex is null && options.Tag.Contains('<', StringComparison.Ordinal))
        {
            reader.Warn(section.Find("Tag")!, "Tag has <name> placeholders but no Tag_Regex; they are kept literally");
        }

        return reader.HasErrors ? null : options;
    }

    internal static List<string> SplitList(string value)
    {
        var list = new List<string>();
        foreach (var part in value.Split(','))
        {
            var t = part.Trim();
            if (t.Length > 0)
            {
                list.Add(t);
            }
        }

        return list;
    }

    private static string? NullIfEmpty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static bool IsFalse(string v) =>
        v.Trim().Equals("off", StringComparison.OrdinalIgnoreCase) || v.Trim().Equals("false", StringComparison.OrdinalIgnoreCase)
        || v.Trim().Equals("no", StringComparison.OrdinalIgnoreCase) || v.Trim() == "0";

    /// <summary>Typed reads of entries, each reporting a bad value at its own file:line.</summary>
    private sealed class SectionReader
    {
        private readonly ConfigSection _section;
        private readonly ICollection<ConfigDiagnostic> _diagnostics;

        public SectionReader(ConfigSection section, ICollection<ConfigDiagnostic> diagnostics)
        {
            _section = section;
            _diagnostics = diagnostics;
        }

        public bool HasErrors { get; private set; }

        public void Error(ConfigEntry entry, string message) => Error(entry.Location, message);

        public void Error(ConfigLocation location, string message)
        {
            HasErrors = true;
            _diagnostics.Add(new ConfigDiagnostic(location, DiagnosticSeverity.Error, $"[INPUT tail] {message}"));
        }

        public void Warn(ConfigEntry entry, string message) =>
            _diagnostics.Add(new ConfigDiagnostic(entry.Location, DiagnosticSeverity.Warning, $"[INPUT tail] {message}"));

        public List<string> List(string key)
        {
            var list = new List<string>();
            foreach (var entry in _section.FindAll(key))
            {
                list.AddRange(SplitList(entry.Value));
            }

            return list;
        }

        public bool Bool(string key, bool fallback)
        {
            var entry = Usable(key);
            if (entry is null)
            {
                return fallback;
            }

            switch (entry.Value.Trim().ToLowerInvariant())
            {
                case "on" or "true" or "yes" or "1":
                    return true;
                case "off" or "false" or "no" or "0":
                    return false;
                default:
                    Error(entry, $"{entry.Key} must be On or Off, got '{entry.Value}'");
                    return fallback;
            }
        }

        public TimeSpan Seconds(string key, double fallback, double minimum = 0)
        {
            var entry = Usable(key);
            if (entry is null)
            {
                return TimeSpan.FromSeconds(fallback);
            }

            if (!double.TryParse(entry.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) || seconds < 0)
            {
                Error(entry, $"{entry.Key} must be a number of seconds, got '{entry.Value}'");
                return TimeSpan.FromSeconds(fallback);
            }

            return TimeSpan.FromSeconds(Math.Max(seconds, minimum));
        }

        /// <summary>Fluent Bit sizes: a number with an optional K/KB, M/MB, G/GB suffix, powers of 1024.</summary>
        public long Size(string key, long fallback)
        {
            var entry = Usable(key);
            if (entry is null)
            {
                return fallback;
            }

            var v = entry.Value.Trim().ToUpperInvariant();
            long multiplier = 1;
            if (v.EndsWith('B'))
            {
                v = v[..^1];
            }

            if (v.EndsWith('K'))
            {
                multiplier = 1024;
                v = v[..^1];
            }
            else if (v.EndsWith('M'))
            {
                multiplier = 1024 * 1024;
                v = v[..^1];
            }
            else if (v.EndsWith('G'))
            {
                multiplier = 1024L * 1024 * 1024;
                v = v[..^1];
            }

            if (!double.TryParse(v.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0)
            {
                Error(entry, $"{entry.Key} must be a size like 32k or 5MB, got '{entry.Value}'");
                return fallback;
            }

            return (long)(n * multiplier);
        }

        public OffsetSyncMode Sync(string key)
        {
            var entry = Usable(key);
            if (entry is null)
            {
                return OffsetSyncMode.Normal;
            }

            switch (entry.Value.Trim().ToLowerInvariant())
            {
                case "off":
                    return OffsetSyncMode.Off;
                case "normal":
                    return OffsetSyncMode.Normal;
                case "full" or "extra":
                    return OffsetSyncMode.Full;
                default:
                    Error(entry, $"DB.sync must be extra, full, normal or off, got '{entry.Value}'");
                    return OffsetSyncMode.Normal;
            }
        }

        /// <summary>The entry, or null when absent or left empty by an unset <c>${VAR}</c> (Fluent Bit then uses the default).</summary>
        private ConfigEntry? Usable(string key)
        {
            var entry = _section.Find(key);
            if (entry is null)
            {
                return null;
            }

            if (entry.Value.Contains("${", StringComparison.Ordinal))
            {
                Error(entry, $"{entry.Key} has an unexpanded variable '{entry.Value}'");
                return null;
            }

            if (string.IsNullOrWhiteSpace(entry.Value))
            {
                Warn(entry, $"{entry.Key} is empty (unset variable?); using the default");
                return null;
            }

            return entry;
        }
    }
}
