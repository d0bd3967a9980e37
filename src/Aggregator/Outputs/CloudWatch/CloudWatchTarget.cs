namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>A log group the output has seen; <see cref="Ready"/> once it is known to exist (created or found).</summary>
internal sealed class CloudWatchGroupState(string name)
{
    public string Name { get; } = name;

    public volatile bool Ready;
}

/// <summary>A (group, stream) destination; <see cref="Ready"/> once the stream is known to exist.</summary>
internal sealed class CloudWatchStreamTarget(CloudWatchGroupState group, string stream)
{
    public CloudWatchGroupState Group { get; } = group;

    public string Stream { get; } = stream;

    public volatile bool Ready;

    /// <summary>Records of any chunk waiting to be sent to this stream.</summary>
    public CloudWatchStreamQueue Queue { get; } = new();

    public override string ToString() => $"{Group.Name}/{Stream}";
}
