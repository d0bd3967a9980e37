using System.Runtime.InteropServices;

namespace Gateway.Shipper.Hosting;

/// <summary>
/// Turns SIGTERM (kubelet stopping the pod), SIGINT and SIGQUIT into a cancellation, instead of the runtime's
/// default immediate exit, so the shipper can flush and persist its offsets before it goes.
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly PosixSignalRegistration[] _registrations;

    public ShutdownSignal()
    {
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal),
        ];
    }

    /// <summary>Cancelled at the first shutdown signal.</summary>
    public CancellationToken Stopping => _stopping.Token;

    public PosixSignal? Received { get; private set; }

    public void Dispose()
    {
        foreach (var registration in _registrations)
        {
            registration.Dispose();
        }

        _stopping.Dispose();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Cancel = true keeps the process alive; the run loop returns and Main exits with 0.
        context.Cancel = true;
        Received ??= context.Signal;
        _stopping.Cancel();
    }
}
