using Gateway.Engine.Config;
using Gateway.Shipper.Hosting;

namespace Gateway.Shipper;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var shutdown = new ShutdownSignal();
        return await ShipperProgram.RunAsync(args, LoadConfig, ShipperProgram.Idle, Console.Out, Console.Error, shutdown.Stopping)
            .ConfigureAwait(false);
    }

    // Replaced by ClassicConfigReader.Load + ConfigValidator once the config reader lands on main.
    private static ConfigDocument LoadConfig(string path) =>
        throw new NotSupportedException($"{path}: the classic config reader is not merged yet");
}
