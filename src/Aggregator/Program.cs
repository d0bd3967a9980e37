using Gateway.Aggregator.Hosting;
using Gateway.Aggregator.Outputs;

namespace Gateway.Aggregator;

internal static class Program
{
    public static Task<int> Main(string[] args) =>
        AggregatorProgram.RunAsync(args, OutputFactory.Create, Console.Out, Console.Error);
}
