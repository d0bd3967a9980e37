using System.Buffers;
using System.Text.Json;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Filters.Aws;

/// <summary>
/// The key/value pairs the filter appends, already msgpack-encoded (<c>"az": "...", "ec2_instance_id": "..."</c>
/// back to back, no map header), and how many pairs that is.
/// </summary>
internal sealed class AwsMetadataSnapshot
{
    public static readonly AwsMetadataSnapshot Empty = new([], 0);

    public AwsMetadataSnapshot(byte[] encodedPairs, int pairCount)
    {
        EncodedPairs = encodedPairs;
        PairCount = pairCount;
    }

    public byte[] EncodedPairs { get; }

    public int PairCount { get; }
}

/// <summary>
/// Fetches the instance metadata once and keeps it (EC2 metadata does not change for an instance). Each value is
/// its own group, as in Fluent Bit's <c>filter_aws</c>: a group that fails is tried again no sooner than
/// <c>retry_interval_s</c> later, the ones fetched are added meanwhile. Fetching runs in the background so a
/// filter call never waits on the network; records pass unmodified until something is known.
/// </summary>
internal sealed class Ec2MetadataCache : IDisposable
{
    private const string TagsPath = "/latest/meta-data/tags/instance";

    private readonly AwsFilterOptions _options;
    private readonly Ec2MetadataClient _client;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _name;
    private readonly MetadataRetrySchedule _schedule;
    private readonly MetadataGroup[] _groups;
    private readonly MetadataGroup _tagsGroup;
    private readonly object _gate = new();
    private List<KeyValuePair<string, string>> _tags = new();
    private AwsMetadataSnapshot _snapshot = AwsMetadataSnapshot.Empty;
    private Task? _refresh;
    private volatile bool _complete;

    public Ec2MetadataCache(AwsFilterOptions options, Ec2MetadataClient client, TimeProvider time, ILogger logger, string name)
    {
        _options = options;
        _client = client;
        _time = time;
        _logger = logger;
        _name = name;
        _schedule = new MetadataRetrySchedule(options.RetryInterval);

        // Output order is Fluent Bit's (az first); fetch order is its too (instance id first).
        _groups =
        [
            new("az", options.AvailabilityZone, 7, ct => _client.GetAsync("/latest/meta-data/placement/availability-zone", ct)),
            new("ec2_instance_id", options.InstanceId, 0, ct => _client.GetAsync("/latest/meta-data/instance-id", ct)),
            new("ec2_instance_type", options.InstanceType, 2, ct => _client.GetAsync("/latest/meta-data/instance-type", ct)),
            new("private_ip", options.PrivateIp, 3, ct => _client.GetAsync("/latest/meta-data/local-ipv4", ct)),
            new("vpc_id", options.VpcId, 4, FetchVpcIdAsync),
            new("ami_id", options.AmiId, 5, ct => _client.GetAsync("/latest/meta-data/ami-id", ct)),
            new("account_id", options.AccountId, 1, FetchAccountIdAsync),
            new("hostname", options.Hostname, 6, ct => _client.GetAsync("/latest/meta-data/hostname", ct)),
        ];
        _tagsGroup = new("tags", options.TagsEnabled, 8, FetchTagsAsync);
    }

    /// <summary>What the filter appends now (possibly nothing yet).</summary>
    public AwsMetadataSnapshot Snapshot => Volatile.Read(ref _snapshot);

    /// <summary>True once every enabled value was fetched: no more requests will be made.</summary>
    public bool IsComplete => _complete;

    /// <summary>
    /// Starts a background fetch of the missing values whose retry time has come, unless one is running or all
    /// are known. Returns the running (or completed) fetch, which never faults.
    /// </summary>
    public Task RefreshIfDue()
    {
        if (_complete)
        {
            return Task.CompletedTask;
        }

        lock (_gate)
        {
            if (_refresh is { IsCompleted: false })
            {
                return _refresh;
            }

            if (!AnyDue(_time.GetUtcNow()))
            {
                return Task.CompletedTask;
            }

            _refresh = Task.Run(RefreshGuardedAsync);
            return _refresh;
        }
    }

    public void Dispose() => _client.Dispose();

    private bool AnyDue(DateTimeOffset now)
    {
        foreach (var group in _groups)
        {
            if (group.Enabled && !group.Done && _schedule.IsDue(group.LastAttempt, now))
            {
                return true;
            }
        }

        return _tagsGroup.Enabled && !_tagsGroup.Done && _schedule.IsDue(_tagsGroup.LastAttempt, now);
    }

    private async Task RefreshGuardedAsync()
    {
        try
        {
            await RefreshAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // A background fetch must not take the shipper down; the next due retry tries again.
            AwsFilterLog.FetchCrashed(_logger, _name, ex);
        }
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var fetchOrder = new List<MetadataGroup>(_groups);
        fetchOrder.Add(_tagsGroup);
        fetchOrder.Sort(static (a, b) => a.FetchOrder.CompareTo(b.FetchOrder));
        var changed = false;
        var pending = 0;
        foreach (var group in fetchOrder)
        {
            if (!group.Enabled || group.Done)
            {
                continue;
            }

            var now = _time.GetUtcNow();
            if (!_schedule.IsDue(group.LastAttempt, now))
            {
                pending++;
                continue;
            }

            group.LastAttempt = now;
            try
            {
                group.Value = await group.Fetch(cancellationToken).ConfigureAwait(false);
                group.Done = true;
                changed = true;
            }
            catch (ImdsException ex)
            {
                pending++;
                AwsFilterLog.FetchFailed(_logger, _name, group.Key, ex.Message, _schedule.Interval);
            }
            catch (JsonException ex)
            {
                pending++;
                AwsFilterLog.FetchFailed(_logger, _name, group.Key, "unreadable answer: " + ex.Message, _schedule.Interval);
            }
        }

        if (changed)
        {
            Volatile.Write(ref _snapshot, Encode());
        }

        if (pending == 0)
        {
            _complete = true;
            AwsFilterLog.MetadataReady(_logger, _name, Snapshot.PairCount);
        }
    }

    private AwsMetadataSnapshot Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        var pairs = 0;
        foreach (var group in _groups)
        {
            if (group.Enabled && group.Done && group.Value is not null)
            {
                writer.Write(group.Key);
                writer.Write(group.Value);
                pairs++;
            }
        }

        if (_tagsGroup.Enabled && _tagsGroup.Done)
        {
            foreach (var tag in _tags)
            {
                writer.Write(tag.Key);
                writer.Write(tag.Value);
                pairs++;
            }
        }

        writer.Flush();
        return new AwsMetadataSnapshot(buffer.WrittenSpan.ToArray(), pairs);
    }

    private async Task<string> FetchVpcIdAsync(CancellationToken cancellationToken)
    {
        var mac = (await _client.GetAsync("/latest/meta-data/mac", cancellationToken).ConfigureAwait(false)).Trim();
        return (await _client.GetAsync($"/latest/meta-data/network/interfaces/macs/{mac}/vpc-id", cancellationToken).ConfigureAwait(false)).Trim();
    }

    /// <summary>The <c>accountId</c> of the instance identity document.</summary>
    private async Task<string> FetchAccountIdAsync(CancellationToken cancellationToken)
    {
        var document = await _client.GetAsync("/latest/dynamic/instance-identity/document", cancellationToken).ConfigureAwait(false);
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(document));
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("accountId"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString()!;
                }
            }
        }

        throw new ImdsException("the instance identity document has no accountId");
    }

    /// <summary>
    /// Tag keys from <c>tags/instance</c> (one per line), then each value. 404 means no tags or tags not exposed
    /// in metadata: that is final, as in Fluent Bit (nothing to add, no retries).
    /// </summary>
    private async Task<string> FetchTagsAsync(CancellationToken cancellationToken)
    {
        string list;
        try
        {
            list = await _client.GetAsync(TagsPath, cancellationToken).ConfigureAwait(false);
        }
        catch (ImdsException ex) when (ex.IsNotFound)
        {
            AwsFilterLog.NoTags(_logger, _name);
            _tags = new();
            return string.Empty;
        }

        var tags = new List<KeyValuePair<string, string>>();
        foreach (var key in list.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!TagIncluded(key))
            {
                continue;
            }

            var value = await _client.GetAsync($"{TagsPath}/{Uri.EscapeDataString(key)}", cancellationToken).ConfigureAwait(false);
            tags.Add(new(key, value));
        }

        _tags = tags;
        return string.Empty;
    }

    private bool TagIncluded(string key)
    {
        if (_options.TagsInclude.Count > 0)
        {
            return _options.TagsInclude.Contains(key);
        }

        return !_options.TagsExclude.Contains(key);
    }

    private sealed class MetadataGroup
    {
        public MetadataGroup(string key, bool enabled, int fetchOrder, Func<CancellationToken, Task<string>> fetch)
        {
            Key = key;
            Enabled = enabled;
            FetchOrder = fetchOrder;
            Fetch = fetch;
        }

        public string Key { get; }

        public bool Enabled { get; }

        public int FetchOrder { get; }

        public Func<CancellationToken, Task<string>> Fetch { get; }

        public DateTimeOffset? LastAttempt { get; set; }

        public bool Done { get; set; }

        public string? Value { get; set; }
    }
}
