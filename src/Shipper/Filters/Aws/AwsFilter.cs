using System.Buffers;
using System.Buffers.Binary;
using Gateway.Engine.Config;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Filters.Aws;

/// <summary>What an aws filter needs from its host besides its section.</summary>
public sealed class AwsFilterContext
{
    /// <summary>Instance name for logs and metrics, e.g. <c>aws.0</c>.</summary>
    public string Name { get; init; } = "aws.0";

    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Clock for retry intervals and token renewal.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>
    /// The metadata service; null uses <c>AWS_EC2_METADATA_SERVICE_ENDPOINT</c> or <c>http://169.254.169.254</c>.
    /// </summary>
    public Uri? ImdsEndpoint { get; init; }

    /// <summary>
    /// Per-request timeout (Fluent Bit: 1 s; a container with one IMDS hop never gets a v2 answer);
    /// <c>AWS_METADATA_SERVICE_TIMEOUT</c> (seconds) overrides it, as in the AWS SDKs.
    /// </summary>
    public TimeSpan ImdsTimeout { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Fluent Bit's <c>aws</c> filter on the node: appends EC2 instance metadata (<c>az</c>, <c>ec2_instance_id</c>,
/// <c>ec2_instance_type</c>, <c>private_ip</c>, <c>vpc_id</c>, <c>ami_id</c>, <c>account_id</c>, <c>hostname</c>, then
/// instance tags — in that order, those enabled) to every record. The metadata is fetched once from IMDS and
/// cached (see <see cref="Ec2MetadataCache"/>); until a value is known, records pass without it.
/// </summary>
/// <remarks>
/// Per record only the map header is rewritten (count + appended pairs) and the pre-encoded pairs are copied after
/// the record's own bytes: no decoding of values, no allocation.
/// </remarks>
public sealed class AwsFilter : IFilter, IDisposable
{
    private readonly Ec2MetadataCache _cache;
    private readonly ILogger _logger;

    public AwsFilter(AwsFilterOptions options, AwsFilterContext? context = null)
        : this(options, context ?? new AwsFilterContext(), handler: null)
    {
    }

    internal AwsFilter(AwsFilterOptions options, AwsFilterContext context, HttpMessageHandler? handler)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(context);
        Name = context.Name;
        _logger = context.Logger;
        var client = new Ec2MetadataClient(
            context.ImdsEndpoint ?? Ec2MetadataClient.ResolveEndpoint(),
            options.ImdsVersion,
            Ec2MetadataClient.ResolveTimeout(context.ImdsTimeout),
            context.Time,
            handler);
        _cache = new Ec2MetadataCache(options, client, context.Time, context.Logger, context.Name);
    }

    public string Name { get; }

    /// <summary>True once every enabled value is known.</summary>
    public bool MetadataComplete => _cache.IsComplete;

    internal Ec2MetadataCache Metadata => _cache;

    /// <summary>
    /// Builds the filter from an <c>[FILTER] Name aws</c> section; problems go to <paramref name="diagnostics"/>
    /// with file:line and the result is null when there is an error.
    /// </summary>
    public static AwsFilter? FromSection(ConfigSection section, AwsFilterContext context, ICollection<ConfigDiagnostic> diagnostics)
    {
        var options = AwsFilterOptions.FromSection(section, diagnostics);
        return options is null ? null : new AwsFilter(options, context);
    }

    /// <summary>
    /// The first fetch, as Fluent Bit does in the filter's init: call at startup so the first chunks already carry
    /// the metadata. Never throws for IMDS trouble (it is retried per <c>retry_interval_s</c>).
    /// </summary>
    public Task InitializeAsync(CancellationToken cancellationToken) => _cache.RefreshIfDue().WaitAsync(cancellationToken);

    public FilterOutcome Filter(EventChunk chunk, IBufferWriter<byte> output, out int outputEventCount)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ArgumentNullException.ThrowIfNull(output);
        if (!_cache.IsComplete)
        {
            _ = _cache.RefreshIfDue();
        }

        var snapshot = _cache.Snapshot;
        outputEventCount = chunk.EventCount;
        if (snapshot.PairCount == 0)
        {
            return FilterOutcome.NotTouched;
        }

        var count = 0;
        var reader = new EventReader(chunk.Events);
        try
        {
            while (reader.TryRead(out var view))
            {
                AppendEvent(view, snapshot, output);
                count++;
            }
        }
        catch (EventFormatException ex)
        {
            // As Fluent Bit on a decoder error: leave the chunk as it is.
            AwsFilterLog.BadChunk(_logger, Name, chunk.Tag, ex.Message);
            return FilterOutcome.NotTouched;
        }

        outputEventCount = count;
        return FilterOutcome.Modified;
    }

    public void Dispose() => _cache.Dispose();

    /// <summary>The event up to its record, a new map header, the record's pairs, then the metadata pairs.</summary>
    private static void AppendEvent(EventView view, AwsMetadataSnapshot snapshot, IBufferWriter<byte> output)
    {
        var raw = view.Raw.Span;
        var record = view.Record.Span;
        var prefixLength = raw.Length - record.Length; // the record is the event's last element
        ReadMapHeader(record, out var headerLength, out var pairs);
        var newPairs = pairs + (uint)snapshot.PairCount;
        var newHeaderLength = newPairs <= 15 ? 1 : newPairs <= ushort.MaxValue ? 3 : 5;
        var total = prefixLength + newHeaderLength + (record.Length - headerLength) + snapshot.EncodedPairs.Length;
        var span = output.GetSpan(total);
        raw[..prefixLength].CopyTo(span);
        var at = prefixLength;
        if (newHeaderLength == 1)
        {
            span[at] = (byte)(0x80 | newPairs);
        }
        else if (newHeaderLength == 3)
        {
            span[at] = 0xde;
            BinaryPrimitives.WriteUInt16BigEndian(span[(at + 1)..], (ushort)newPairs);
        }
        else
        {
            span[at] = 0xdf;
            BinaryPrimitives.WriteUInt32BigEndian(span[(at + 1)..], newPairs);
        }

        at += newHeaderLength;
        record[headerLength..].CopyTo(span[at..]);
        at += record.Length - headerLength;
        snapshot.EncodedPairs.CopyTo(span[at..]);
        output.Advance(total);
    }

    private static void ReadMapHeader(ReadOnlySpan<byte> record, out int headerLength, out uint pairs)
    {
        var b = record[0];
        if (b is >= 0x80 and <= 0x8f)
        {
            headerLength = 1;
            pairs = (uint)(b & 0x0f);
        }
        else if (b == 0xde)
        {
            headerLength = 3;
            pairs = BinaryPrimitives.ReadUInt16BigEndian(record[1..]);
        }
        else
        {
            // EventReader only yields map records, so this is map32.
            headerLength = 5;
            pairs = BinaryPrimitives.ReadUInt32BigEndian(record[1..]);
        }
    }
}

internal static partial class AwsFilterLog
{
    [LoggerMessage(EventId = 2450, Level = LogLevel.Warning, Message = "aws {Filter}: cannot fetch '{Key}' from the instance metadata service: {Reason}; records go without it, retrying in {RetryInterval}")]
    public static partial void FetchFailed(ILogger logger, string filter, string key, string reason, TimeSpan retryInterval);

    [LoggerMessage(EventId = 2451, Level = LogLevel.Information, Message = "aws {Filter}: instance metadata fetched; {Pairs} keys are added to every record")]
    public static partial void MetadataReady(ILogger logger, string filter, int pairs);

    [LoggerMessage(EventId = 2452, Level = LogLevel.Warning, Message = "aws {Filter}: instance metadata has no tags (404): the instance has none or tags in metadata are not enabled")]
    public static partial void NoTags(ILogger logger, string filter);

    [LoggerMessage(EventId = 2453, Level = LogLevel.Error, Message = "aws {Filter}: a chunk tagged {Tag} is not valid events ({Reason}); it passes unmodified")]
    public static partial void BadChunk(ILogger logger, string filter, string tag, string reason);

    [LoggerMessage(EventId = 2454, Level = LogLevel.Error, Message = "aws {Filter}: fetching instance metadata failed unexpectedly")]
    public static partial void FetchCrashed(ILogger logger, string filter, Exception exception);
}
