using Gateway.Aggregator.Hosting;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;

namespace Gateway.Aggregator;

internal static class Program
{
    public static Task<int> Main(string[] args) =>
        AggregatorProgram.RunAsync(args, LoadConfig, CreateOutput, Console.Out, Console.Error);

    // Replaced by ClassicConfigReader.Load + ConfigValidator once the config reader lands on main.
    private static ConfigDocument LoadConfig(string path) =>
        throw new NotSupportedException($"{path}: the classic config reader is not merged yet");

    // Replaced by OutputFactory.Create once the outputs land on main.
    private static IOutput CreateOutput(ConfigSection section) =>
        throw new NotSupportedException($"{section.Location}: output '{section.PluginName}' is not available yet");
}
