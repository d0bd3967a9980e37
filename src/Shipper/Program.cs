using Gateway.Shipper.Hosting;

namespace Gateway.Shipper;

internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        using var shutdown = new ShutdownSignal();

        // The node inputs (tail, systemd, ...) plug in here in place of Idle once their pipeline is wired.
        return await ShipperProgram.RunAsync(args, ShipperProgram.Idle, Console.Out, Console.Error, shutdown.Stopping)
            .ConfigureAwait(false);
    }
}
