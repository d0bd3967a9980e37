using System.Diagnostics.CodeAnalysis;
using Gateway.Engine.Config;

namespace Gateway.Engine.Parsers;

/// <summary>
/// The parsers a configuration defines, by name (case-sensitive, as Fluent Bit's flb_parser_get). Built once from
/// the <c>[PARSER]</c> sections of a <see cref="ConfigDocument"/>; lookups are thread-safe.
/// </summary>
public sealed class ParserRegistry
{
    private readonly Dictionary<string, IRecordParser> _parsers;

    private ParserRegistry(Dictionary<string, IRecordParser> parsers, IReadOnlyList<ConfigDiagnostic> diagnostics)
    {
        _parsers = parsers;
        Diagnostics = diagnostics;
    }

    /// <summary>Problems found while building the parsers (each with file and line); those parsers are absent.</summary>
    public IReadOnlyList<ConfigDiagnostic> Diagnostics { get; }

    public IReadOnlyCollection<string> Names => _parsers.Keys;

    /// <summary>
    /// Builds every <c>[PARSER]</c> of <paramref name="document"/>. Like Fluent Bit, the first definition of a name
    /// wins and later ones are reported and skipped.
    /// </summary>
    /// <param name="clock">Supplies the current year for formats without one; defaults to the system clock.</param>
    public static ParserRegistry FromConfig(ConfigDocument document, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(document);
        clock ??= TimeProvider.System;
        var diagnostics = new List<ConfigDiagnostic>();
        var parsers = new Dictionary<string, IRecordParser>(StringComparer.Ordinal);
        foreach (var section in document.OfKind(SectionKind.Parser))
        {
            var definition = ParserDefinition.FromSection(section, diagnostics);
            if (definition is null)
            {
                continue;
            }

            if (parsers.ContainsKey(definition.Name))
            {
                diagnostics.Add(new ConfigDiagnostic(section.Location, DiagnosticSeverity.Warning, $"parser '{definition.Name}' is already defined; this definition is ignored"));
                continue;
            }

            if (TryCreate(definition, clock, out var parser, out var error))
            {
                parsers.Add(definition.Name, parser);
            }
            else
            {
                var location = section.Find("Regex")?.Location ?? section.Location;
                diagnostics.Add(new ConfigDiagnostic(location, DiagnosticSeverity.Error, $"parser '{definition.Name}': {error}"));
            }
        }

        return new ParserRegistry(parsers, diagnostics);
    }

    /// <summary>Creates one parser; false with a reason when its regex cannot be used.</summary>
    public static bool TryCreate(ParserDefinition definition, TimeProvider? clock, [NotNullWhen(true)] out IRecordParser? parser, out string? error)
    {
        ArgumentNullException.ThrowIfNull(definition);
        clock ??= TimeProvider.System;
        error = null;
        switch (definition.Format)
        {
            case ParserFormat.Json:
                parser = new JsonRecordParser(definition, clock);
                return true;
            case ParserFormat.Logfmt:
                parser = new LogfmtRecordParser(definition, clock);
                return true;
            case ParserFormat.Ltsv:
                parser = new LtsvRecordParser(definition, clock);
                return true;
            default:
                if (!OnigmoRegex.TryCompile(definition.Regex ?? string.Empty, out var regex, out var regexError, forMatching: true))
                {
                    parser = null;
                    error = $"invalid Regex: {regexError}";
                    return false;
                }

                parser = new RegexRecordParser(definition, regex!, clock);
                return true;
        }
    }

    public bool TryGet(string name, [NotNullWhen(true)] out IRecordParser? parser) => _parsers.TryGetValue(name, out parser);

    public IRecordParser? Find(string name) => _parsers.GetValueOrDefault(name);
}
