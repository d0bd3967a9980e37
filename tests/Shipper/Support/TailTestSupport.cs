using System.Text;
using System.Text.Json;
using Gateway.Engine.Config;
using Gateway.Engine.Records;
using Gateway.Shipper.Inputs.Tail;
using Gateway.Shipper.Pipeline;
using Gateway.Shipper.State;
using MessagePack;

namespace Gateway.Shipper.Tests.Support;

/// <summary>Locates the shared fixtures (../shared/fixtures next to the repository root).</summary>
internal static class Fixtures
{
    public static string Root => Gateway.Aggregator.Tests.EndToEnd.RepositoryPaths.Fixtures;

    public static string SeedConfig(string relative) => Path.Combine(Root, "seed-configs", relative);
}

/// <summary>A temporary directory standing in for a node's root file system.</summary>
internal sealed class TempNodeRoot : IDisposable
{
    public TempNodeRoot()
    {
        Root = Path.Combine(Path.GetTempPath(), "gw-tail-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string this[string logical] => Root + logical;

    /// <summary>Copies the fixture node's /var/log tree in (writable copies).</summary>
    public TempNodeRoot WithFixtureLogs()
    {
        var source = Path.Combine(Fixtures.Root, "node", "var", "log");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(Root, "var", "log", Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, File.ReadAllBytes(file));
        }

        return this;
    }

    public string Write(string logical, string content)
    {
        var path = this[logical];
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
        return path;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Builds config sections the way the config reader will (it lives on another branch).</summary>
internal static class Sections
{
    public static ConfigSection Tail(params (string Key, string Value)[] entries)
    {
        var list = new List<ConfigEntry> { new("Name", "tail", new ConfigLocation("test.conf", 1)) };
        var line = 2;
        foreach (var (key, value) in entries)
        {
            list.Add(new ConfigEntry(key, value, new ConfigLocation("test.conf", line++)));
        }

        return new ConfigSection(SectionKind.Input, "INPUT", new ConfigLocation("test.conf", 1), list);
    }
}

/// <summary>One decoded event: tag, time and the record as compact JSON with keys in msgpack order.</summary>
internal sealed record DecodedEvent(string Tag, EventTime Time, string Json)
{
    public override string ToString() => $"{Tag} {Time.Seconds}.{Time.Nanoseconds:D9} {Json}";
}

internal static class Msgpack
{
    public static List<DecodedEvent> Decode(EventChunk chunk)
    {
        var list = new List<DecodedEvent>();
        var reader = new EventReader(chunk.Events);
        while (reader.TryRead(out var view))
        {
            list.Add(new DecodedEvent(chunk.Tag, view.Time, ToJson(view.Record)));
        }

        Assert.Equal(chunk.EventCount, list.Count);
        return list;
    }

    public static string ToJson(ReadOnlyMemory<byte> msgpack)
    {
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var reader = new MessagePackReader(msgpack);
            Write(ref reader, json);
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Write(ref MessagePackReader reader, Utf8JsonWriter json)
    {
        switch (reader.NextMessagePackType)
        {
            case MessagePackType.Map:
                var n = reader.ReadMapHeader();
                json.WriteStartObject();
                for (var i = 0; i < n; i++)
                {
                    json.WritePropertyName(reader.ReadString()!);
                    Write(ref reader, json);
                }

                json.WriteEndObject();
                break;
            case MessagePackType.Array:
                var m = reader.ReadArrayHeader();
                json.WriteStartArray();
                for (var i = 0; i < m; i++)
                {
                    Write(ref reader, json);
                }

                json.WriteEndArray();
                break;
            case MessagePackType.String:
                json.WriteStringValue(reader.ReadString());
                break;
            case MessagePackType.Integer:
                json.WriteNumberValue(reader.ReadInt64());
                break;
            case MessagePackType.Float:
                json.WriteNumberValue(reader.ReadDouble());
                break;
            case MessagePackType.Boolean:
                json.WriteBooleanValue(reader.ReadBoolean());
                break;
            case MessagePackType.Nil:
                reader.ReadNil();
                json.WriteNullValue();
                break;
            default:
                throw new InvalidOperationException($"unexpected msgpack type {reader.NextMessagePackType}");
        }
    }
}

/// <summary>Runs a tail input and collects what it produces, acknowledging (or not) every chunk.</summary>
internal sealed class TailHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;
    private readonly Task _consume;
    private readonly object _gate = new();
    private readonly List<DecodedEvent> _events = new();
    private readonly List<InputChunk<TailCommitToken>> _unacked = new();

    public TailHarness(TailInput input, bool acknowledge = true)
    {
        Input = input;
        AutoAcknowledge = acknowledge;
        _run = Task.Run(() => input.RunAsync(_stop.Token));
        _consume = Task.Run(ConsumeAsync);
    }

    public TailInput Input { get; }

    public bool AutoAcknowledge { get; set; }

    /// <summary>The largest chunk seen so far, in event bytes.</summary>
    public int LargestChunkBytes { get; private set; }

    public List<DecodedEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return new List<DecodedEvent>(_events);
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _events.Count;
            }
        }
    }

    public static TailHarness Start(ConfigSection section, TailInputContext? context = null, bool acknowledge = true)
    {
        var diagnostics = new List<ConfigDiagnostic>();
        var input = TailInput.FromSection(section, context ?? new TailInputContext(), diagnostics);
        Assert.True(input is not null, "tail input not created: " + string.Join("; ", diagnostics));
        return new TailHarness(input!, acknowledge);
    }

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds.</summary>
    public static Task WaitUntil(Func<bool> condition, string what, int seconds = 30) => WaitUntil(condition, () => what, seconds);

    public static async Task WaitUntil(Func<bool> condition, Func<string> what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {seconds}s waiting for {what()}");
            }

            await Task.Delay(20);
        }
    }

    public Task WaitForCount(int count, int seconds = 30) =>
        WaitUntil(() => Count >= count || ThrowIfFailed(), () => $"{count} records (have {Count})", seconds);

    /// <summary>Surfaces a crash of the input loop or the consumer instead of timing out.</summary>
    public bool ThrowIfFailed()
    {
        if (_run.IsFaulted)
        {
            throw new InvalidOperationException("tail input loop failed", _run.Exception);
        }

        if (_consume.IsFaulted)
        {
            throw new InvalidOperationException("consumer failed", _consume.Exception);
        }

        return false;
    }

    public void AcknowledgeHeld()
    {
        List<InputChunk<TailCommitToken>> held;
        lock (_gate)
        {
            held = new List<InputChunk<TailCommitToken>>(_unacked);
            _unacked.Clear();
        }

        foreach (var chunk in held)
        {
            chunk.ReleaseEventsAndAcknowledge();
        }
    }

    /// <summary>Stops the input (as a crash or shutdown would: nothing more is acknowledged) and disposes it.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(30));
        await _consume.WaitAsync(TimeSpan.FromSeconds(30));
        await Input.DisposeAsync();
        _stop.Dispose();
    }

    private async Task ConsumeAsync()
    {
        await foreach (var chunk in Input.Chunks.ReadAllAsync())
        {
            var decoded = Msgpack.Decode(chunk.Chunk);
            bool acknowledge;
            lock (_gate)
            {
                LargestChunkBytes = Math.Max(LargestChunkBytes, chunk.Chunk.ByteLength);
                _events.AddRange(decoded);
                acknowledge = AutoAcknowledge;
                if (!acknowledge)
                {
                    _unacked.Add(chunk);
                }
            }

            if (acknowledge)
            {
                // As the shipper's forwarder: done with the events once delivered, so a pooled buffer is reused by
                // the input's next chunks (a chunk still read after that would decode wrong).
                chunk.ReleaseEventsAndAcknowledge();
            }
        }
    }
}

/// <summary>A seed configuration loaded with the real classic-format reader, its tail inputs re-rooted to a test tree.</summary>
internal sealed class SeedConfig
{
    private static readonly Dictionary<string, string?> Environment = new()
    {
        ["READ_FROM_HEAD"] = "On",
        ["READ_FROM_TAIL"] = "Off",
        ["HTTP_SERVER"] = "Off",
        ["HTTP_PORT"] = "2020",
        ["AWS_REGION"] = "us-east-1",
        ["CLUSTER_NAME"] = "test",
        ["HOST_NAME"] = "node-1",
    };

    private SeedConfig(Gateway.Engine.Config.ConfigDocument document, Gateway.Engine.Parsers.ParserRegistry parsers)
    {
        Document = document;
        Parsers = parsers;
    }

    public Gateway.Engine.Config.ConfigDocument Document { get; }

    public Gateway.Engine.Parsers.ParserRegistry Parsers { get; }

    public static SeedConfig Load(string relative, TimeProvider? clock = null)
    {
        var document = Gateway.Engine.Config.ClassicConfigReader.Load(Fixtures.SeedConfig(relative), Environment);
        return new SeedConfig(document, Gateway.Engine.Parsers.ParserRegistry.FromConfig(document, clock));
    }

    /// <summary>The tail input with this tag, with <c>Gateway.PathRoot</c> (and any extra entries) appended.</summary>
    public ConfigSection Tail(string tag, string root, params (string Key, string Value)[] extra)
    {
        var section = Document.OfKind(SectionKind.Input).Single(s => s.PluginName == "tail" && s.Get("Tag") == tag);
        var entries = new List<ConfigEntry>(section.Entries)
        {
            new(Gateway.Shipper.Inputs.Tail.TailInputOptions.PathRootKey, root, new ConfigLocation("(test)", 1)),
        };
        foreach (var (key, value) in extra)
        {
            entries.Add(new ConfigEntry(key, value, new ConfigLocation("(test)", 2)));
        }

        return new ConfigSection(section.Kind, section.Header, section.Location, entries);
    }

    public TailInputContext Context(TimeProvider? clock = null) => new() { Parsers = Parsers, Time = clock ?? TimeProvider.System };
}
