namespace Gateway.Aggregator.Hosting;

/// <summary>
/// What <c>/readyz</c> reports: ready only when every registered component says so (the engine after replaying
/// its stored chunks, the listeners after Kestrel bound them). Kubernetes keeps traffic away until then, so a
/// restarted aggregator does not accept new data before its backlog is back under management.
/// </summary>
internal sealed class ReadinessRegistry
{
    private readonly Lock _gate = new();
    private readonly List<KeyValuePair<string, Func<bool>>> _checks = [];

    public void Register(string component, Func<bool> isReady)
    {
        ArgumentNullException.ThrowIfNull(component);
        ArgumentNullException.ThrowIfNull(isReady);
        lock (_gate)
        {
            _checks.Add(new(component, isReady));
        }
    }

    /// <summary>True when every component is ready; <paramref name="notReady"/> names the ones that are not.</summary>
    public bool IsReady(out IReadOnlyList<string> notReady)
    {
        List<string>? pending = null;
        lock (_gate)
        {
            foreach (var (component, isReady) in _checks)
            {
                if (!isReady())
                {
                    (pending ??= []).Add(component);
                }
            }
        }

        notReady = pending ?? (IReadOnlyList<string>)[];
        return pending is null;
    }
}
