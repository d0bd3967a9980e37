using Gateway.Aggregator.Buffer;
using Gateway.Aggregator.Engine;
using Gateway.Aggregator.Routing;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Routing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Aggregator.Tests.Engine;

/// <summary>
/// The test assembly's entry point. The test host never calls it; the kill -9 test starts this assembly with
/// <c>dotnet Gateway.Aggregator.Tests.dll buffer-crash-child &lt;storage&gt; &lt;delivered-file&gt;</c>: a real
/// engine appends chunks forever, printing <c>ACK key</c> after each append returned (the moment an input would
/// acknowledge its sender), while a slow output records the keys it delivered in a file.
/// </summary>
internal static class CrashChildProgram
{
    public const string Mode = "buffer-crash-child";

    public static int Main(string[] args)
    {
        if (args.Length == 3 && args[0] == Mode)
        {
            RunChildAsync(args[1], args[2]).GetAwaiter().GetResult();
        }

        return 0;
    }

    private static async Task RunChildAsync(string storage, string deliveredFile)
    {
        var options = new BufferOptions { StoragePath = storage };
        var delivered = new FileStream(deliveredFile, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
        var output = new RecordingOutput("out", async (chunk, _, ct) =>
        {
            await Task.Delay(3, ct);
            var line = System.Text.Encoding.UTF8.GetBytes(TestChunks.KeyOf(TestChunks.Ids(chunk.Events)[0]) + "\n");
            delivered.Write(line);
            delivered.Flush();
            return FlushResult.Ok;
        });
        var engine = new AggregatorEngine(
            options,
            [new OutputRegistration(output, new TagMatcher("*", null), new RetryPolicy(null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)))],
            null,
            NullLoggerFactory.Instance);
        await engine.StartAsync(CancellationToken.None);
        await engine.Ready;
        var stdout = Console.Out;
        for (var i = 0; ; i++)
        {
            var key = $"k{i}";
            await engine.AppendAsync(TestChunks.Make("app.crash", key, events: 20, padding: 150), CancellationToken.None);
            await stdout.WriteLineAsync("ACK " + key);
            await stdout.FlushAsync();
        }
    }
}
