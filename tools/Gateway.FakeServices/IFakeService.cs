namespace Gateway.FakeServices;

/// <summary>
/// One fake the host runs (the Kubernetes API, later CloudWatch Logs, ...). The host prints
/// <see cref="Endpoint"/> once it listens and <see cref="Summary"/> when it is told to stop, so a benchmark script
/// can point the aggregator at it and report what it was asked.
/// </summary>
internal interface IFakeService : IAsyncDisposable
{
    /// <summary>One line <c>name_url=... key=value...</c>, read by scripts (<c>sed -n 's/^kubernetes_url=\([^ ]*\).*/\1/p'</c>).</summary>
    string Endpoint { get; }

    /// <summary>One line <c>name_requests key=value...</c> of what the fake served.</summary>
    string Summary();
}
