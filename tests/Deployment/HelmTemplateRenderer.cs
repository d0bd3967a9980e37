using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;

namespace Gateway.Deployment.Tests;

/// <summary>
/// Renders the chart's templates without a helm binary (none is installed here): the subset of Go templates and
/// Sprig the chart uses — <c>.Values</c>/<c>.Release</c>/<c>.Chart</c>, <c>define</c>/<c>include</c>, <c>if</c>/
/// <c>else</c>/<c>with</c>/<c>range</c>, whitespace trimming, and the functions quote, nindent, indent, toYaml,
/// sha256sum, default, not, eq, ne, and, or. Anything else is an error naming the template, so a chart edit that
/// goes beyond the subset fails the tests instead of rendering wrongly.
/// </summary>
internal sealed class HelmTemplateRenderer
{
    private readonly Dictionary<string, List<Node>> _defines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Node>> _templates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, object?> _root;

    private HelmTemplateRenderer(Dictionary<string, object?> root) => _root = root;

    /// <summary>Loads the chart at <paramref name="chartDirectory"/> with values.yaml overridden by <paramref name="overrides"/> ("a.b.c" → value).</summary>
    public static HelmTemplateRenderer Load(string chartDirectory, string releaseName, string releaseNamespace, IReadOnlyDictionary<string, object?>? overrides = null)
    {
        var values = (Dictionary<string, object?>)FromYaml(LoadYaml(Path.Combine(chartDirectory, "values.yaml")))!;
        foreach (var (path, value) in overrides ?? new Dictionary<string, object?>())
        {
            var parts = path.Split('.');
            var map = values;
            for (var i = 0; i < parts.Length - 1; i++)
            {
                map = (Dictionary<string, object?>)map[parts[i]]!;
            }

            map[parts[^1]] = value;
        }

        var chart = (Dictionary<string, object?>)FromYaml(LoadYaml(Path.Combine(chartDirectory, "Chart.yaml")))!;
        var root = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["Values"] = values,
            ["Release"] = new Dictionary<string, object?> { ["Name"] = releaseName, ["Namespace"] = releaseNamespace, ["Service"] = "Helm" },
            ["Chart"] = new Dictionary<string, object?> { ["Name"] = chart["name"], ["Version"] = chart["version"], ["AppVersion"] = chart["appVersion"] },
        };
        var renderer = new HelmTemplateRenderer(root);
        foreach (var file in Directory.GetFiles(Path.Combine(chartDirectory, "templates")).Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(file);
            var nodes = new Parser(name, File.ReadAllText(file), renderer._defines).ParseAll();
            renderer._templates[name] = nodes;
        }

        return renderer;
    }

    public IEnumerable<string> TemplateNames => _templates.Keys.Where(n => !n.StartsWith('_'));

    public string Render(string template)
    {
        var output = new StringBuilder();
        Execute(template, _templates[template], new Scope(_root, _root, new Dictionary<string, object?>(StringComparer.Ordinal)), output);
        return output.ToString();
    }

    /// <summary>Every manifest of every YAML template, split at <c>---</c>, parsed; empty documents skipped.</summary>
    public List<(string Template, YamlMappingNode Manifest)> RenderManifests()
    {
        var manifests = new List<(string, YamlMappingNode)>();
        foreach (var name in TemplateNames.Where(n => n.EndsWith(".yaml", StringComparison.Ordinal)))
        {
            var text = Render(name);
            var stream = new YamlStream();
            try
            {
                stream.Load(new StringReader(text));
            }
            catch (YamlDotNet.Core.YamlException ex)
            {
                throw new InvalidOperationException($"{name} does not render to valid YAML: {ex.Message}\n{text}", ex);
            }

            foreach (var document in stream.Documents)
            {
                if (document.RootNode is YamlMappingNode mapping)
                {
                    manifests.Add((name, mapping));
                }
            }
        }

        return manifests;
    }

    private static YamlNode LoadYaml(string path)
    {
        var stream = new YamlStream();
        using var reader = new StreamReader(path);
        stream.Load(reader);
        return stream.Documents[0].RootNode;
    }

    /// <summary>YAML → the values a template sees: maps, lists, and typed scalars (plain true/false/numbers/null as Go's YAML reads them).</summary>
    private static object? FromYaml(YamlNode node) => node switch
    {
        YamlMappingNode map => map.Children.ToDictionary(kv => ((YamlScalarNode)kv.Key).Value!, kv => FromYaml(kv.Value), StringComparer.Ordinal),
        YamlSequenceNode list => list.Children.Select(FromYaml).ToList(),
        YamlScalarNode scalar when scalar.Style is YamlDotNet.Core.ScalarStyle.Plain => scalar.Value switch
        {
            null or "" or "~" or "null" => null,
            "true" => true,
            "false" => false,
            var text when long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) => n,
            var text => text,
        },
        YamlScalarNode scalar => scalar.Value,
        _ => throw new InvalidOperationException($"unsupported YAML node {node.NodeType}"),
    };

    private void Execute(string template, List<Node> nodes, Scope scope, StringBuilder output)
    {
        foreach (var node in nodes)
        {
            switch (node)
            {
                case TextNode text:
                    output.Append(text.Text);
                    break;
                case ActionNode action:
                    output.Append(Format(Evaluate(template, action.Pipeline, scope)));
                    break;
                case IfNode branch:
                    {
                        var taken = false;
                        foreach (var (condition, body) in branch.Branches)
                        {
                            if (condition is null || Truthy(Evaluate(template, condition, scope)))
                            {
                                Execute(template, body, scope, output);
                                taken = true;
                                break;
                            }
                        }

                        _ = taken;
                        break;
                    }

                case WithNode with:
                    {
                        var value = Evaluate(template, with.Pipeline, scope);
                        if (Truthy(value))
                        {
                            Execute(template, with.Body, scope with { Dot = value }, output);
                        }

                        break;
                    }

                case RangeNode range:
                    {
                        var value = Evaluate(template, range.Pipeline, scope);
                        IEnumerable<KeyValuePair<object, object?>> items = value switch
                        {
                            Dictionary<string, object?> map => map.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => new KeyValuePair<object, object?>(kv.Key, kv.Value)),
                            List<object?> list => list.Select((v, i) => new KeyValuePair<object, object?>((long)i, v)),
                            null => [],
                            _ => throw new InvalidOperationException($"{template}: range over {value.GetType().Name}"),
                        };
                        foreach (var (key, item) in items)
                        {
                            var variables = new Dictionary<string, object?>(scope.Variables, StringComparer.Ordinal);
                            if (range.KeyVariable is not null)
                            {
                                variables[range.KeyVariable] = key;
                            }

                            if (range.ValueVariable is not null)
                            {
                                variables[range.ValueVariable] = item;
                            }

                            Execute(template, range.Body, scope with { Dot = item, Variables = variables }, output);
                        }

                        break;
                    }

                default:
                    throw new InvalidOperationException($"{template}: unknown node {node.GetType().Name}");
            }
        }
    }

    private object? Evaluate(string template, string pipeline, Scope scope)
    {
        object? piped = null;
        var first = true;
        foreach (var command in SplitOutside(pipeline, '|'))
        {
            var tokens = Tokenize(template, command);
            if (tokens.Count == 0)
            {
                throw new InvalidOperationException($"{template}: empty command in '{pipeline}'");
            }

            object? result;
            if (IsFunction(tokens[0]))
            {
                var args = tokens.Skip(1).Select(t => Value(template, t, scope)).ToList();
                if (!first)
                {
                    args.Add(piped);
                }

                result = Call(template, tokens[0], args, scope);
            }
            else
            {
                if (tokens.Count != 1 || !first)
                {
                    throw new InvalidOperationException($"{template}: cannot evaluate '{command.Trim()}' in '{pipeline}'");
                }

                result = Value(template, tokens[0], scope);
            }

            piped = result;
            first = false;
        }

        return piped;
    }

    private static bool IsFunction(string token) => token.Length > 0 && char.IsLetter(token[0]);

    private object? Value(string template, string token, Scope scope)
    {
        if (token.StartsWith('"'))
        {
            return token[1..^1].Replace("\\\"", "\"", StringComparison.Ordinal);
        }

        if (long.TryParse(token, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number))
        {
            return number;
        }

        if (token == ".")
        {
            return scope.Dot;
        }

        object? current;
        string path;
        if (token.StartsWith('$'))
        {
            var end = token.IndexOf('.', StringComparison.Ordinal);
            var variable = end < 0 ? token : token[..end];
            path = end < 0 ? string.Empty : token[end..];
            if (variable == "$")
            {
                current = scope.Root;
            }
            else if (!scope.Variables.TryGetValue(variable, out current))
            {
                throw new InvalidOperationException($"{template}: undefined variable {variable}");
            }
        }
        else if (token.StartsWith('.'))
        {
            current = scope.Dot;
            path = token;
        }
        else
        {
            throw new InvalidOperationException($"{template}: cannot evaluate '{token}'");
        }

        foreach (var part in path.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            current = current is Dictionary<string, object?> map && map.TryGetValue(part, out var child) ? child : null;
        }

        return current;
    }

    private object? Call(string template, string function, List<object?> args, Scope scope)
    {
        void Arity(int n)
        {
            if (args.Count != n)
            {
                throw new InvalidOperationException($"{template}: {function} takes {n} arguments, got {args.Count}");
            }
        }

        switch (function)
        {
            case "include":
                {
                    Arity(2);
                    var name = (string)args[0]!;
                    if (!_defines.TryGetValue(name, out var body))
                    {
                        throw new InvalidOperationException($"{template}: include of undefined template \"{name}\"");
                    }

                    var output = new StringBuilder();
                    Execute(template, body, new Scope(args[1], scope.Root, new Dictionary<string, object?>(StringComparer.Ordinal)), output);
                    return output.ToString();
                }

            case "quote":
                Arity(1);
                return "\"" + Format(args[0]).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
            case "nindent":
                Arity(2);
                return "\n" + Indent(Format(args[1]), (int)(long)args[0]!);
            case "indent":
                Arity(2);
                return Indent(Format(args[1]), (int)(long)args[0]!);
            case "toYaml":
                Arity(1);
                return args[0] is null ? "null" : new SerializerBuilder().Build().Serialize(args[0]).TrimEnd('\n');
            case "sha256sum":
                Arity(1);
                return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Format(args[0]))));
            case "default":
                Arity(2);
                return Truthy(args[1]) ? args[1] : args[0];
            case "not":
                Arity(1);
                return !Truthy(args[0]);
            case "eq":
                Arity(2);
                return Equals(args[0], args[1]);
            case "ne":
                Arity(2);
                return !Equals(args[0], args[1]);
            case "and":
                return args.All(Truthy);
            case "or":
                return args.Any(Truthy);
            default:
                throw new InvalidOperationException($"{template}: function '{function}' is not in the renderer's subset");
        }
    }

    private static string Indent(string text, int spaces)
    {
        var pad = new string(' ', spaces);
        return pad + text.Replace("\n", "\n" + pad, StringComparison.Ordinal);
    }

    private static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        long n => n != 0,
        string s => s.Length > 0,
        Dictionary<string, object?> map => map.Count > 0,
        List<object?> list => list.Count > 0,
        _ => true,
    };

    private static string Format(object? value) => value switch
    {
        null => string.Empty,
        bool b => b ? "true" : "false",
        long n => n.ToString(CultureInfo.InvariantCulture),
        string s => s,
        _ => throw new InvalidOperationException($"cannot print a {value.GetType().Name} (use toYaml)"),
    };

    private static List<string> SplitOutside(string text, char separator)
    {
        var parts = new List<string>();
        var start = 0;
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] == '"' && (i == 0 || text[i - 1] != '\\'))
            {
                quoted = !quoted;
            }
            else if (text[i] == separator && !quoted)
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }

        parts.Add(text[start..]);
        return parts;
    }

    private static List<string> Tokenize(string template, string command)
    {
        var tokens = new List<string>();
        var i = 0;
        while (i < command.Length)
        {
            if (char.IsWhiteSpace(command[i]))
            {
                i++;
                continue;
            }

            if (command[i] == '(')
            {
                throw new InvalidOperationException($"{template}: parenthesised expressions are not in the renderer's subset: '{command.Trim()}'");
            }

            var start = i;
            if (command[i] == '"')
            {
                i++;
                while (i < command.Length && !(command[i] == '"' && command[i - 1] != '\\'))
                {
                    i++;
                }

                i++;
            }
            else
            {
                while (i < command.Length && !char.IsWhiteSpace(command[i]))
                {
                    i++;
                }
            }

            tokens.Add(command[start..Math.Min(i, command.Length)]);
        }

        return tokens;
    }

    private sealed record Scope(object? Dot, object? Root, Dictionary<string, object?> Variables);

    private abstract record Node;

    private sealed record TextNode(string Text) : Node;

    private sealed record ActionNode(string Pipeline) : Node;

    private sealed record IfNode(List<(string? Condition, List<Node> Body)> Branches) : Node;

    private sealed record WithNode(string Pipeline, List<Node> Body) : Node;

    private sealed record RangeNode(string? KeyVariable, string? ValueVariable, string Pipeline, List<Node> Body) : Node;

    /// <summary>Splits a template into text and actions (honouring <c>{{-</c> / <c>-}}</c> trimming) and builds the block tree.</summary>
    private sealed class Parser(string template, string text, Dictionary<string, List<Node>> defines)
    {
        private readonly List<(bool IsAction, string Text)> _tokens = Lex(template, text);
        private int _next;

        public List<Node> ParseAll()
        {
            var nodes = ParseBlock(out var terminator);
            if (terminator is not null)
            {
                throw new InvalidOperationException($"{template}: unexpected {{{{ {terminator} }}}}");
            }

            return nodes;
        }

        private List<Node> ParseBlock(out string? terminator)
        {
            var nodes = new List<Node>();
            while (_next < _tokens.Count)
            {
                var (isAction, body) = _tokens[_next++];
                if (!isAction)
                {
                    nodes.Add(new TextNode(body));
                    continue;
                }

                var keyword = body.Split(' ', 2)[0];
                var rest = body.Length > keyword.Length ? body[keyword.Length..].Trim() : string.Empty;
                switch (keyword)
                {
                    case "end":
                    case "else":
                        terminator = body;
                        return nodes;
                    case "if":
                        nodes.Add(ParseIf(rest));
                        break;
                    case "with":
                        nodes.Add(new WithNode(rest, ParseUntilEnd("with")));
                        break;
                    case "range":
                        {
                            string? key = null;
                            string? value = null;
                            var pipeline = rest;
                            var assign = rest.IndexOf(":=", StringComparison.Ordinal);
                            if (assign >= 0)
                            {
                                var variables = rest[..assign].Split(',', StringSplitOptions.TrimEntries);
                                (key, value) = variables.Length == 2 ? (variables[0], variables[1]) : (null, variables[0]);
                                pipeline = rest[(assign + 2)..].Trim();
                            }

                            nodes.Add(new RangeNode(key, value, pipeline, ParseUntilEnd("range")));
                            break;
                        }

                    case "define":
                        defines[rest.Trim('"')] = ParseUntilEnd("define");
                        break;
                    default:
                        nodes.Add(new ActionNode(body));
                        break;
                }
            }

            terminator = null;
            return nodes;
        }

        private IfNode ParseIf(string condition)
        {
            var branches = new List<(string?, List<Node>)>();
            string? current = condition;
            while (true)
            {
                var body = ParseBlock(out var terminator);
                branches.Add((current, body));
                if (terminator == "end")
                {
                    return new IfNode(branches);
                }

                if (terminator == "else")
                {
                    current = null;
                }
                else if (terminator is not null && terminator.StartsWith("else if ", StringComparison.Ordinal))
                {
                    current = terminator["else if ".Length..].Trim();
                }
                else
                {
                    throw new InvalidOperationException($"{template}: if without end");
                }
            }
        }

        private List<Node> ParseUntilEnd(string what)
        {
            var body = ParseBlock(out var terminator);
            if (terminator != "end")
            {
                throw new InvalidOperationException($"{template}: {what} without end");
            }

            return body;
        }

        private static List<(bool, string)> Lex(string template, string text)
        {
            var tokens = new List<(bool, string)>();
            var position = 0;
            var trimNext = false;
            while (position < text.Length)
            {
                var open = text.IndexOf("{{", position, StringComparison.Ordinal);
                var literal = open < 0 ? text[position..] : text[position..open];
                if (trimNext)
                {
                    literal = literal.TrimStart();
                }

                if (open < 0)
                {
                    tokens.Add((false, literal));
                    break;
                }

                var close = text.IndexOf("}}", open, StringComparison.Ordinal);
                if (close < 0)
                {
                    throw new InvalidOperationException($"{template}: unclosed {{{{");
                }

                var action = text[(open + 2)..close];
                if (action.StartsWith('-'))
                {
                    literal = literal.TrimEnd();
                    action = action[1..];
                }

                trimNext = action.EndsWith('-');
                if (trimNext)
                {
                    action = action[..^1];
                }

                tokens.Add((false, literal));
                action = action.Trim();
                if (!(action.StartsWith("/*", StringComparison.Ordinal) && action.EndsWith("*/", StringComparison.Ordinal)))
                {
                    tokens.Add((true, action));
                }

                position = close + 2;
            }

            return tokens;
        }
    }
}
