using Gateway.Aggregator.Hosting;
using Gateway.Engine.Config;

namespace Gateway.Aggregator;

internal static class Program
{
    public static Task<int> Main(string[] args) =>
        AggregatorProgram.RunAsync(args, LoadConfig, Console.Out, Console.Error);

    // Replaced by ClassicConfigReader.Load + ConfigValidator once the config reader lands on main.
    private static ConfigDocument LoadConfig(string path) =>
        throw new NotSupportedException($"{path}: the classic config reader is not merged yet");
}
