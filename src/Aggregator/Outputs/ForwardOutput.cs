using System.Buffers;
using Gateway.Engine.Buffers;
using Gateway.Engine.Config;
using Gateway.Engine.Forward;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs;

/// <summary>
/// Fluent Bit's <c>forward</c> output: relays chunks to another Fluent Forward server through a shared
/// <see cref="ForwardClient"/>. Events go out as <c>[time, record]</c> (v2 metadata stripped) for Fluentd
/// compatibility, unless <c>Retain_metadata_in_forward_mode</c> is on; chunks that need no change are sent
/// from the chunk's own bytes.
/// </summary>
internal sealed class ForwardOutput : IOutput
{
    private readonly ForwardClient _client;
    private readonly string? _tagOverride;
    private readonly bool _retainMetadata;
    private readonly bool _timeAsInteger;
    private readonly ILogger _logger;
    private readonly OutputMetrics _metrics;
    private readonly string _endpoints;

    public ForwardOutput(string name, ForwardClient client, ForwardClientOptions clientOptions, string? tagOverride, bool retainMetadata, bool timeAsInteger, ILogger logger)
    {
        Name = name;
        _client = client;
        _tagOverride = tagOverride;
        _retainMetadata = retainMetadata;
        _timeAsInteger = timeAsInteger;
        _logger = logger;
        _metrics = new OutputMetrics(name);
        _endpoints = string.Join(",", clientOptions.Endpoints);
    }

    public string Name { get; }

    public async ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        PooledBufferWriter? rewritten = null;
        try
        {
            ReadOnlyMemory<byte> entries;
            int count;
            try
            {
                (entries, count, rewritten) = PrepareEntries(chunk);
            }
            catch (EventFormatException ex)
            {
                OutputLog.MalformedChunk(_logger, Name, chunk.Tag, ex.Message);
                return _metrics.Failed(FlushResult.Error);
            }

            var outgoing = new EventChunk(_tagOverride ?? chunk.Tag, entries, count, chunk.NodeName);
            var result = await _client.SendAsync(outgoing, cancellationToken).ConfigureAwait(false);
            if (result.Status == ForwardSendStatus.Delivered)
            {
                _metrics.Delivered(count, entries.Length);
                return FlushResult.Ok;
            }

            OutputLog.ForwardFailed(_logger, Name, _endpoints, result.Reason ?? "unknown");
            return _metrics.Failed(FlushResult.Retry);
        }
        finally
        {
            rewritten?.Dispose();
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    /// <summary>
    /// The entries to send: the chunk's bytes when every event already has the wanted layout, else a rewrite
    /// into a pooled buffer (owned by the caller).
    /// </summary>
    internal (ReadOnlyMemory<byte> Entries, int Count, PooledBufferWriter? Owner) PrepareEntries(EventChunk chunk)
    {
        var reader = new EventReader(chunk.Events);
        var count = 0;
        var needsRewrite = false;
        while (reader.TryRead(out var view))
        {
            count++;
            needsRewrite |= NeedsRewrite(view.Raw.Span);
        }

        if (!needsRewrite)
        {
            return (chunk.Events, count, null);
        }

        var output = new PooledBufferWriter(chunk.ByteLength + 64);
        var writer = new MessagePackWriter(output);
        reader = new EventReader(chunk.Events);
        while (reader.TryRead(out var view))
        {
            writer.WriteArrayHeader(2);
            if (_retainMetadata)
            {
                writer.WriteArrayHeader(2);
                WriteTime(ref writer, view.Time);
                if (view.Metadata.IsEmpty)
                {
                    writer.WriteMapHeader(0);
                }
                else
                {
                    writer.WriteRaw(view.Metadata.Span);
                }
            }
            else
            {
                WriteTime(ref writer, view.Time);
            }

            writer.WriteRaw(view.Record.Span);
        }

        writer.Flush();
        return (output.WrittenMemory, count, output);
    }

    private void WriteTime(ref MessagePackWriter writer, EventTime time)
    {
        if (_timeAsInteger)
        {
            writer.Write(time.Seconds);
        }
        else
        {
            EventWriter.WriteTime(ref writer, time);
        }
    }

    /// <summary>Looks at the time slot (<c>raw[1]</c>, after the fixarray(2) header) to see if the event already fits.</summary>
    private bool NeedsRewrite(ReadOnlySpan<byte> raw)
    {
        var timeSlot = raw[1];
        var isV2 = timeSlot is >= 0x90 and <= 0x9f or 0xdc or 0xdd;
        if (isV2 != _retainMetadata)
        {
            return true;
        }

        if (isV2)
        {
            // Retained metadata: rewrite only to change the time representation.
            timeSlot = raw[2];
        }

        var isInteger = timeSlot <= 0x7f || timeSlot is >= 0xcc and <= 0xd3;
        var isEventTime = timeSlot == 0xd7 && raw.Length > (isV2 ? 3 : 2) && raw[isV2 ? 3 : 2] == 0x00;
        return _timeAsInteger ? !isInteger : !isEventTime;
    }
}

/// <summary>Builds a <see cref="ForwardOutput"/> from an <c>[OUTPUT] Name forward</c> section.</summary>
internal static class ForwardOutputFactory
{
    public static IOutput Create(ConfigSection section, OutputContext context)
    {
        // The option parsing is shared with the shipper (Engine); unknown keys are the aggregator's concern.
        new OutputOptions(section, [.. ForwardOutputSettings.Keys]).RejectUnknownKeys("forward");
        var settings = ForwardOutputSettings.FromSection(section, context.InstanceName, context.BaseDirectory);
        var logger = OutputFactory.Logger(context);
        var client = new ForwardClient(settings.Client, logger, context.TimeProvider);
        return new ForwardOutput(
            context.InstanceName,
            client,
            settings.Client,
            settings.TagOverride,
            settings.RetainMetadata,
            settings.TimeAsInteger,
            logger);
    }
}
