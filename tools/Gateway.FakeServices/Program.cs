using System.Runtime.InteropServices;
using Gateway.FakeServices;

// A host for the tests' fakes outside the tests, so benchmark scripts can run the aggregator against them as a
// separate process (its CPU and RSS measured alone). Each fake listens on 127.0.0.1 on a free port.
if (!FakeServicesOptions.TryParse(args, out var options, out var error))
{
    Console.Error.WriteLine($"Gateway.FakeServices: {error}");
    Console.Error.WriteLine(FakeServicesOptions.Usage);
    return 2;
}

var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});
using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    stop.TrySetResult();
});

var services = new List<IFakeService>();
try
{
    if (options.KubernetesPods > 0)
    {
        services.Add(await KubernetesFakeService.StartAsync(options.KubernetesPods, options.KubernetesToken).ConfigureAwait(false));
    }

    if (options.CloudWatchCertificatePath is { } certificatePath)
    {
        services.Add(await CloudWatchLogsFakeService.StartAsync(certificatePath).ConfigureAwait(false));
    }

    foreach (var service in services)
    {
        Console.WriteLine(service.Endpoint);
    }

    Console.WriteLine("ready");
    await stop.Task.ConfigureAwait(false);
    foreach (var service in services)
    {
        Console.WriteLine(service.Summary());
    }
}
finally
{
    foreach (var service in services)
    {
        await service.DisposeAsync().ConfigureAwait(false);
    }
}

return 0;
