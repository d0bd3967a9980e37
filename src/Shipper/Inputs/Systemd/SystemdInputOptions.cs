using System.Globalization;
using Gateway.Engine.Config;
using Gateway.Shipper.State;

namespace Gateway.Shipper.Inputs.Systemd;

/// <summary>How several <c>Systemd_Filter</c> entries combine, as Fluent Bit's <c>Systemd_Filter_Type</c>.</summary>
public enum SystemdFilterType
{
    /// <summary>An entry matches when any filter matches (Fluent Bit's default).</summary>
    Or,

    /// <summary>
    /// An entry matches when every field's filters match; filters on the same field are alternatives
    /// (journalctl's rule for matches with no <c>+</c> between them).
    /// </summary>
    And,
}

/// <summary>
/// The options of one <c>[INPUT] Name systemd</c> section, with Fluent Bit's defaults and spellings (keys are
/// case-insensitive). Build it with <see cref="FromSection"/>.
/// </summary>
public sealed class SystemdInputOptions
{
    /// <summary>Fluent Bit's <c>FLB_SYSTEMD_MAX_FIELDS</c>.</summary>
    public const int DefaultMaxFields = 8000;

    /// <summary>Fluent Bit's <c>FLB_SYSTEMD_MAX_ENTRIES</c>.</summary>
    public const int DefaultMaxEntries = 5000;

    /// <summary>The journal directory (<c>--directory</c>); null reads the local journal as journalctl does.</summary>
    public string? Path { get; init; }

    /// <summary>
    /// The tag; a <c>*</c> is replaced by the entry's <c>_SYSTEMD_UNIT</c> (or <c>unknown</c>). Null: the instance
    /// name, as Fluent Bit tags an input without <c>Tag</c>.
    /// </summary>
    public string? Tag { get; init; }

    /// <summary><c>FIELD=VALUE</c> matches, in configuration order.</summary>
    public IReadOnlyList<string> Filters { get; init; } = [];

    public SystemdFilterType FilterType { get; init; } = SystemdFilterType.Or;

    /// <summary>Where the last acknowledged cursor is kept; null keeps nothing (every start reads per <see cref="ReadFromTail"/>).</summary>
    public string? DbPath { get; init; }

    public OffsetSyncMode DbSync { get; init; } = OffsetSyncMode.Normal;

    /// <summary>Start at the end of the journal instead of its head when there is no stored cursor.</summary>
    public bool ReadFromTail { get; init; }

    /// <summary>Most entries per chunk (Fluent Bit: per collection round).</summary>
    public int MaxEntries { get; init; } = DefaultMaxEntries;

    /// <summary>Most fields kept per record; the rest are dropped.</summary>
    public int MaxFields { get; init; } = DefaultMaxFields;

    /// <summary>
    /// Bytes handed out and not yet acknowledged at which reading pauses until acknowledgements free room
    /// (<c>Mem_Buf_Limit</c>); 0 = no limit beyond the chunk queue.
    /// </summary>
    public long MemBufLimit { get; init; }

    /// <summary>Drop one leading underscore from field names (<c>_PID</c> becomes <c>PID</c>).</summary>
    public bool StripUnderscores { get; init; }

    /// <summary>Lowercase field names.</summary>
    public bool Lowercase { get; init; }

    /// <summary>
    /// Reads a section. Errors and warnings go to <paramref name="diagnostics"/> with file:line; returns null when
    /// there is an error.
    /// </summary>
    public static SystemdInputOptions? FromSection(ConfigSection section, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var errors = 0;
        void Error(ConfigLocation location, string message)
        {
            errors++;
            diagnostics.Add(new ConfigDiagnostic(location, DiagnosticSeverity.Error, "[INPUT systemd] " + message));
        }

        foreach (var entry in section.Entries)
        {
            if (!IsKnownKey(entry.Key))
            {
                diagnostics.Add(new ConfigDiagnostic(entry.Location, DiagnosticSeverity.Warning, $"[INPUT systemd] unknown systemd option '{entry.Key}' is ignored"));
            }
        }

        bool Bool(string key, bool fallback)
        {
            var before = diagnostics.Count;
            var value = ConfigValues.GetBool(section, key, fallback, diagnostics);
            errors += diagnostics.Count - before;
            return value;
        }

        int PositiveInt(string key, int fallback)
        {
            var entry = section.Find(key);
            if (entry is null)
            {
                return fallback;
            }

            if (!int.TryParse(entry.Value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value <= 0)
            {
                Error(entry.Location, $"{entry.Key} '{entry.Value}' is not a positive integer");
                return fallback;
            }

            return value;
        }

        var filters = new List<string>();
        foreach (var entry in section.FindAll("Systemd_Filter"))
        {
            var value = entry.Value.Trim();
            var eq = value.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                Error(entry.Location, $"Systemd_Filter '{entry.Value}' must be FIELD=VALUE (e.g. _SYSTEMD_UNIT=kubelet.service)");
                continue;
            }

            filters.Add(value);
        }

        var filterType = SystemdFilterType.Or;
        if (section.Find("Systemd_Filter_Type") is { } typeEntry)
        {
            if (typeEntry.Value.Trim().Equals("and", StringComparison.OrdinalIgnoreCase))
            {
                filterType = SystemdFilterType.And;
            }
            else if (!typeEntry.Value.Trim().Equals("or", StringComparison.OrdinalIgnoreCase))
            {
                Error(typeEntry.Location, $"Systemd_Filter_Type must be 'And' or 'Or', not '{typeEntry.Value}'");
            }
        }

        var sync = OffsetSyncMode.Normal;
        if (section.Find("DB.Sync") is { } syncEntry)
        {
            switch (syncEntry.Value.Trim().ToUpperInvariant())
            {
                case "OFF":
                    sync = OffsetSyncMode.Off;
                    break;
                case "NORMAL":
                    sync = OffsetSyncMode.Normal;
                    break;
                case "FULL":
                case "EXTRA":
                    sync = OffsetSyncMode.Full;
                    break;
                default:
                    Error(syncEntry.Location, $"DB.Sync '{syncEntry.Value}' is not one of Extra, Full, Normal, Off");
                    break;
            }
        }

        long memBufLimit = 0;
        if (section.Find("Mem_Buf_Limit") is { } limitEntry)
        {
            var size = ConfigValues.ParseSize(limitEntry.Value);
            if (size is null)
            {
                Error(limitEntry.Location, $"Mem_Buf_Limit '{limitEntry.Value}' is not a size (e.g. 50MB)");
            }
            else
            {
                memBufLimit = size.Value;
            }
        }

        // GATEWAY_PATH_ROOT re-roots the journal and the cursor DB as it does tail's Path and DB: one variable
        // moves every node path of the config under a host mount (or a test's copy of a node).
        var paths = new Tail.TailPathMapper(Environment.GetEnvironmentVariable(Tail.TailInputOptions.PathRootEnvironmentVariable));
        var journal = NonEmpty(section.Get("Path"));
        var db = NonEmpty(section.Get("DB"));
        var options = new SystemdInputOptions
        {
            MemBufLimit = memBufLimit,
            Path = journal is null ? null : paths.ToPhysical(journal),
            Tag = NonEmpty(section.Get("Tag")),
            Filters = filters,
            FilterType = filterType,
            DbPath = db is null ? null : paths.ToPhysical(db),
            DbSync = sync,
            ReadFromTail = Bool("Read_From_Tail", false),
            MaxEntries = PositiveInt("Max_Entries", DefaultMaxEntries),
            MaxFields = PositiveInt("Max_Fields", DefaultMaxFields),
            StripUnderscores = Bool("Strip_Underscores", false),
            Lowercase = Bool("Lowercase", false),
        };
        return errors == 0 ? options : null;
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>The engine's plugin catalog is the one list of a plugin's keys (common input keys included).</summary>
    private static bool IsKnownKey(string key) =>
        PluginCatalog.Default.Find(PluginKind.Input, "systemd") is not { } definition || PluginCatalog.AcceptsKey(definition, key);
}
