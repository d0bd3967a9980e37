using Gateway.Engine.Config;

namespace Gateway.Engine.Tests.Config;

public sealed class ClassicConfigReaderTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = new();

    private static ConfigDocument Parse(string text, IReadOnlyDictionary<string, string?>? environment = null) =>
        ClassicConfigReader.Parse(text, "/nonexistent/test.conf", environment ?? NoEnvironment);

    [Fact]
    public void Reads_sections_entries_and_locations()
    {
        var doc = Parse("""
            [SERVICE]
                Flush 1

            [INPUT]
                Name   forward
                Listen 0.0.0.0
            [OUTPUT]
                Name  stdout
                Match *
            """);

        Assert.Empty(doc.Diagnostics);
        Assert.Equal([SectionKind.Service, SectionKind.Input, SectionKind.Output], doc.Sections.Select(s => s.Kind));
        var input = doc.Sections[1];
        Assert.Equal("forward", input.PluginName);
        Assert.Equal(new ConfigLocation("/nonexistent/test.conf", 4), input.Location);
        Assert.Equal(new ConfigLocation("/nonexistent/test.conf", 6), input.Find("listen")!.Location);
        Assert.Equal("0.0.0.0", input.Get("LISTEN"));
    }

    [Fact]
    public void Section_headers_and_keys_are_case_insensitive()
    {
        var doc = Parse("""
            [input]
                NAME forward
            [Multiline_Parser]
                name m
                type regex
                rule "start_state" "/^\d/" "cont"
            [upstream]
                name u
            [node]
                name n1
            [custom]
                name x
            """);

        Assert.Equal(
            [SectionKind.Input, SectionKind.MultilineParser, SectionKind.Upstream, SectionKind.Node, SectionKind.Other],
            doc.Sections.Select(s => s.Kind));
        Assert.Equal("forward", doc.Sections[0].PluginName);
        Assert.Equal("\"start_state\" \"/^\\d/\" \"cont\"", doc.Sections[1].Get("Rule"));
    }

    [Fact]
    public void Key_is_the_first_token_and_value_the_trimmed_rest()
    {
        var doc = Parse("[FILTER]\n    Rename   _HOSTNAME      hostname   \n    Name modify\n");

        Assert.Equal("_HOSTNAME      hostname", doc.Sections[0].Get("Rename"));
    }

    [Fact]
    public void Repeated_keys_are_all_kept_in_order()
    {
        var doc = Parse("[FILTER]\n    Name record_modifier\n    Remove_key a\n    Remove_key b\n");

        Assert.Equal(["a", "b"], doc.Sections[0].FindAll("remove_key").Select(e => e.Value));
    }

    [Fact]
    public void Comment_lines_are_skipped_at_column_zero_and_at_the_entry_indentation()
    {
        var doc = Parse("# top\n[INPUT]\n    # indented comment\n    Name forward\n# between\n    Port 24224\n");

        Assert.Empty(doc.Diagnostics);
        Assert.Equal(2, doc.Sections[0].Entries.Count);
    }

    [Fact]
    public void Crlf_line_endings_are_accepted()
    {
        var doc = Parse("[INPUT]\r\n    Name forward\r\n    Port 24224\r\n");

        Assert.Empty(doc.Diagnostics);
        Assert.Equal("24224", doc.Sections[0].Get("Port"));
    }

    [Fact]
    public void An_entry_that_is_not_indented_is_an_error_at_its_line()
    {
        var doc = Parse("[INPUT]\n    Name forward\nPort 24224\n");

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(DiagnosticSeverity.Error, error.Severity);
        Assert.Equal(3, error.Location.Line);
        Assert.Contains("must be indented", error.Message, StringComparison.Ordinal);
        Assert.Single(doc.Sections[0].Entries);
    }

    [Fact]
    public void Indentation_deeper_than_the_first_entry_is_an_error()
    {
        var doc = Parse("[INPUT]\n    Name forward\n      Port 24224\n");

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(3, error.Location.Line);
        Assert.Contains("extra indentation", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Indentation_shallower_than_the_first_entry_is_an_error_even_in_a_later_section()
    {
        var doc = Parse("[INPUT]\n    Name forward\n[OUTPUT]\n  Name stdout\n");

        var error = Assert.Single(doc.Diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        Assert.Equal(4, error.Location.Line);
        Assert.Contains("lower", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Mixing_tabs_and_spaces_is_an_error()
    {
        var doc = Parse("[INPUT]\n    Name forward\n\tPort 24224\n");

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(3, error.Location.Line);
        Assert.Contains("tab and space", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tab_indentation_is_fine_when_consistent()
    {
        var doc = Parse("[INPUT]\n\tName forward\n\tPort 24224\n");

        Assert.Empty(doc.Diagnostics);
        Assert.Equal("24224", doc.Sections[0].Get("Port"));
    }

    [Fact]
    public void Exactly_double_indentation_is_accepted_like_fluent_bit_group_content()
    {
        var doc = Parse("[INPUT]\n  Name forward\n    Port 24224\n");

        Assert.Empty(doc.Diagnostics);
        Assert.Equal("24224", doc.Sections[0].Get("Port"));
    }

    [Fact]
    public void Each_included_file_has_its_own_indentation()
    {
        using var dir = new TempConfigDirectory();
        dir.Write("inputs.conf", "[INPUT]\n  Name forward\n");
        var main = dir.Write("main.conf", "[SERVICE]\n        Flush 1\n@INCLUDE inputs.conf\n");

        var doc = ClassicConfigReader.Load(main, NoEnvironment);

        Assert.Empty(doc.Diagnostics);
        Assert.Equal(2, doc.Sections.Count);
    }

    [Fact]
    public void Key_without_value_and_entry_outside_a_section_are_errors()
    {
        var doc = Parse("    Name forward\n[INPUT]\n    Name\n    Port  \n    Tag\tvalue\n");

        Assert.Equal(
            [
                (1, "entry 'Name' is outside of any [SECTION]"),
                (3, "key 'Name' has no value (key and value are separated by a space)"),
                (4, "key 'Port' has an empty value"),
                (5, "key 'Tag\tvalue' has no value (key and value are separated by a space)"),
                (2, "section [INPUT] has no entries"),
            ],
            doc.Diagnostics.Select(d => (d.Location.Line, d.Message)));
    }

    [Fact]
    public void Bad_header_is_an_error_and_its_entries_do_not_cascade()
    {
        var doc = Parse("[INPUT\n    Name forward\n[OUTPUT]\n    Name stdout\n");

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(1, error.Location.Line);
        Assert.Contains("missing ']'", error.Message, StringComparison.Ordinal);
        Assert.Equal("stdout", Assert.Single(doc.Sections).PluginName);
    }

    [Fact]
    public void Section_without_entries_is_a_warning()
    {
        var doc = Parse("[INPUT]\n[OUTPUT]\n    Name stdout\n");

        var warning = Assert.Single(doc.Diagnostics);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Equal(1, warning.Location.Line);
    }

    [Fact]
    public void Whitespace_only_lines_are_blank()
    {
        var doc = Parse("[INPUT]\n  \n    Name forward\n \t \n    Port 1\n");

        Assert.Empty(doc.Diagnostics);
        Assert.Equal(2, doc.Sections[0].Entries.Count);
    }

    [Fact]
    public void Set_defines_variables_used_anywhere_in_the_tree_and_wins_over_the_environment()
    {
        var environment = new Dictionary<string, string?> { ["PORT"] = "1111", ["HOST"] = "from-env" };

        var doc = Parse("""
            [INPUT]
                Name forward
                Port ${PORT}
                Listen ${HOST}
            @SET PORT = 24224
            @set tag=app.${x}
            """, environment);

        Assert.Empty(doc.Diagnostics);
        Assert.Equal("24224", doc.Sections[0].Get("Port"));
        Assert.Equal("from-env", doc.Sections[0].Get("Listen"));
    }

    [Fact]
    public void Set_without_equals_is_an_error_and_unknown_directives_warn()
    {
        var doc = Parse("@SET novalue\n@FOO bar\n[INPUT]\n    Name forward\n");

        Assert.Equal(
            [(1, DiagnosticSeverity.Error), (2, DiagnosticSeverity.Warning)],
            doc.Diagnostics.Select(d => (d.Location.Line, d.Severity)));
    }

    [Fact]
    public void Unknown_variable_becomes_empty_with_a_warning_naming_variable_file_and_line()
    {
        var doc = Parse("[OUTPUT]\n    Name stdout\n    Match app.${MISSING}.x\n");

        Assert.Equal("app..x", doc.Sections[0].Get("Match"));
        var warning = Assert.Single(doc.Diagnostics);
        Assert.Equal(DiagnosticSeverity.Warning, warning.Severity);
        Assert.Equal(new ConfigLocation("/nonexistent/test.conf", 3), warning.Location);
        Assert.Contains("${MISSING}", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Unterminated_or_empty_variable_references_stay_literal()
    {
        var doc = Parse("[OUTPUT]\n    Name stdout\n    A ${OPEN\n    B x${}y\n    C $(tag[1])\n");

        Assert.Empty(doc.Diagnostics);
        Assert.Equal("${OPEN", doc.Sections[0].Get("A"));
        Assert.Equal("x${}y", doc.Sections[0].Get("B"));
        Assert.Equal("$(tag[1])", doc.Sections[0].Get("C"));
    }

    [Fact]
    public void Include_is_relative_to_the_including_file_and_keeps_order()
    {
        using var dir = new TempConfigDirectory();
        dir.Write("conf.d/inputs.conf", "[INPUT]\n    Name forward\n@INCLUDE more/outputs.conf\n");
        dir.Write("conf.d/more/outputs.conf", "[OUTPUT]\n    Name stdout\n    Match *\n");
        var main = dir.Write("main.conf", "[SERVICE]\n    Flush 1\n@include conf.d/inputs.conf\n[FILTER]\n    Name grep\n");

        var doc = ClassicConfigReader.Load(main, NoEnvironment);

        Assert.Empty(doc.Diagnostics);
        Assert.Equal(
            [SectionKind.Service, SectionKind.Input, SectionKind.Output, SectionKind.Filter],
            doc.Sections.Select(s => s.Kind));
        Assert.EndsWith(Path.Combine("more", "outputs.conf"), doc.Sections[2].Location.File, StringComparison.Ordinal);
    }

    [Fact]
    public void Include_glob_loads_matching_files_in_sorted_order()
    {
        using var dir = new TempConfigDirectory();
        dir.Write("conf.d/20-b.conf", "[OUTPUT]\n    Name null\n");
        dir.Write("conf.d/10-a.conf", "[INPUT]\n    Name forward\n");
        dir.Write("conf.d/ignored.txt", "garbage");
        dir.Write("conf.d/.hidden.conf", "[INPUT]\n    Name hidden\n");
        var main = dir.Write("main.conf", "@INCLUDE conf.d/*.conf\n");

        var doc = ClassicConfigReader.Load(main, NoEnvironment);

        Assert.Empty(doc.Diagnostics);
        Assert.Equal(["forward", "null"], doc.Sections.Select(s => s.PluginName));
        Assert.Equal(3, doc.LoadedFiles.Count);
    }

    [Fact]
    public void Include_glob_without_matches_is_an_error_at_the_include_line()
    {
        using var dir = new TempConfigDirectory();
        var main = dir.Write("main.conf", "[SERVICE]\n    Flush 1\n@INCLUDE nothing/*.conf\n");

        var doc = ClassicConfigReader.Load(main, NoEnvironment);

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(new ConfigLocation(main, 3), error.Location);
        Assert.Contains("matches no file", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Include_cycle_is_reported_at_the_include_line_that_closes_it()
    {
        using var dir = new TempConfigDirectory();
        var a = dir.Write("a.conf", "[INPUT]\n    Name forward\n@INCLUDE b.conf\n");
        var b = dir.Write("b.conf", "[OUTPUT]\n    Name null\n@INCLUDE a.conf\n");

        var doc = ClassicConfigReader.Load(a, NoEnvironment);

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(new ConfigLocation(b, 3), error.Location);
        Assert.Equal("include cycle: a.conf -> b.conf -> a.conf", error.Message);
        Assert.Equal(2, doc.Sections.Count);
    }

    [Fact]
    public void Self_include_through_a_glob_is_a_cycle()
    {
        using var dir = new TempConfigDirectory();
        var main = dir.Write("main.conf", "[INPUT]\n    Name forward\n@INCLUDE *.conf\n");

        var doc = ClassicConfigReader.Load(main, NoEnvironment);

        Assert.Contains(doc.Diagnostics, d => d.Message == "include cycle: main.conf -> main.conf");
    }

    [Fact]
    public void Including_the_same_file_twice_is_an_error_as_in_fluent_bit()
    {
        using var dir = new TempConfigDirectory();
        dir.Write("x.conf", "[INPUT]\n    Name forward\n");
        var main = dir.Write("main.conf", "@INCLUDE x.conf\n@INCLUDE x.conf\n");

        var doc = ClassicConfigReader.Load(main, NoEnvironment);

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(2, error.Location.Line);
        Assert.Contains("already included", error.Message, StringComparison.Ordinal);
        Assert.Single(doc.Sections);
    }

    [Fact]
    public void Parsers_file_is_resolved_against_the_main_file_directory_and_may_repeat()
    {
        using var dir = new TempConfigDirectory();
        dir.Write("parsers/one.conf", "[PARSER]\n    Name one\n    Format json\n[INPUT]\n    Name ignored\n");
        dir.Write("parsers/two.conf", "[MULTILINE_PARSER]\n    Name two\n    Type regex\n    Rule \"start_state\" \"/a/\" \"cont\"\n");
        dir.Write("conf.d/service.conf", "[SERVICE]\n    Parsers_File parsers/one.conf\n    Parsers_File ${P2}\n");
        var main = dir.Write("main.conf", "@INCLUDE conf.d/service.conf\n");

        var doc = ClassicConfigReader.Load(main, new Dictionary<string, string?> { ["P2"] = "parsers/two.conf" });

        var warning = Assert.Single(doc.Diagnostics);
        Assert.Contains("ignored", warning.Message, StringComparison.Ordinal);
        Assert.Equal(["one"], doc.OfKind(SectionKind.Parser).Select(p => p.PluginName));
        Assert.Equal(["two"], doc.OfKind(SectionKind.MultilineParser).Select(p => p.PluginName));
        Assert.Empty(doc.OfKind(SectionKind.Input));
    }

    [Fact]
    public void Missing_main_file_is_a_diagnostic_not_an_exception()
    {
        using var dir = new TempConfigDirectory();
        var path = Path.Combine(dir.DirectoryPath, "absent.conf");

        var doc = ClassicConfigReader.Load(path, NoEnvironment);

        var error = Assert.Single(doc.Diagnostics);
        Assert.Equal(path, error.Location.File);
        Assert.Contains("not found", error.Message, StringComparison.Ordinal);
        Assert.Empty(doc.Sections);
    }

    [Fact]
    public void Environment_defaults_to_the_process_environment()
    {
        var name = "GATEWAY_TEST_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, "from-process");
        try
        {
            var doc = ClassicConfigReader.Parse($"[INPUT]\n    Name forward\n    Tag ${{{name}}}\n", "/nonexistent/test.conf");

            Assert.Equal("from-process", doc.Sections[0].Get("Tag"));
        }
        finally
        {
            Environment.SetEnvironmentVariable(name, null);
        }
    }
}
