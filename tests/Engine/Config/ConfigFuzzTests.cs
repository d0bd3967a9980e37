using System.Text;
using Gateway.Engine.Config;

namespace Gateway.Engine.Tests.Config;

/// <summary>Garbage, truncated and mutated configs must produce diagnostics, never exceptions.</summary>
public sealed class ConfigFuzzTests
{
    private static readonly string[] Fragments =
    [
        "[INPUT]", "[OUTPUT]", "[PARSER]", "[MULTILINE_PARSER]", "[SERVICE]", "[", "]", "[]", "    ", "\t", " ", "\n",
        "\r\n", "#", "@INCLUDE ", "@SET ", "@", "=", "${", "}", "${A}", "Name", "Regex", "Format regex", "Match *",
        "(?<a>", ")", "\\", "*", "?", "Parsers_File", "rule", "\"", "\0", "ü", "\uD800", "Retry _Limit 5",
    ];

    [Fact]
    public void Random_text_never_throws()
    {
        var random = new Random(20261125);
        var environment = new Dictionary<string, string?> { ["A"] = "x" };
        for (var iteration = 0; iteration < 3000; iteration++)
        {
            var text = iteration % 3 == 0 ? RandomChars(random) : RandomFragments(random);
            var doc = ClassicConfigReader.Parse(text, "/nonexistent/fuzz.conf", environment);
            ConfigValidator.Validate(doc, dryRun: true);
        }
    }

    [Fact]
    public void Every_truncation_of_the_seeds_never_throws()
    {
        var environment = new Dictionary<string, string?>();
        foreach (var deployment in new[] { "container-insights", "per-app-routing", "firehose-lift" })
        {
            var path = Fixtures.SeedConfig(deployment, "parsers.conf");
            var text = File.ReadAllText(path);
            for (var length = 0; length <= text.Length; length += 7)
            {
                var doc = ClassicConfigReader.Parse(text[..length], path, environment);
                ConfigValidator.Validate(doc, dryRun: false);
            }
        }
    }

    private static string RandomChars(Random random)
    {
        var builder = new StringBuilder();
        var length = random.Next(0, 200);
        for (var i = 0; i < length; i++)
        {
            builder.Append((char)random.Next(0, 0x3000));
        }

        return builder.ToString();
    }

    private static string RandomFragments(Random random)
    {
        var builder = new StringBuilder();
        var count = random.Next(0, 60);
        for (var i = 0; i < count; i++)
        {
            builder.Append(Fragments[random.Next(Fragments.Length)]);
        }

        return builder.ToString();
    }
}
