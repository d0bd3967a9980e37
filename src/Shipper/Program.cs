using Gateway.Shipper.Hosting;
using Gateway.Shipper.Pipeline;

namespace Gateway.Shipper;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var shutdown = new ShutdownSignal();

        return await ShipperProgram.RunAsync(args, ShipperPipeline.RunAsync, Console.Out, Console.Error, shutdown.Stopping)
            .ConfigureAwait(false);
    }
}
