using Gateway.Engine.Buffers;
using Gateway.Engine.Records;
using Google.Protobuf.Collections;
using MessagePack;
using OpenTelemetry.Proto.Common.V1;
using OpenTelemetry.Proto.Logs.V1;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>
/// Turns OTLP log records into Fluent events <c>[time, record]</c>. The record's keys (each only when the OTLP field
/// is set): <c>log</c> (the body: a string, or a map/array/number as is), <c>severity_number</c>,
/// <c>severity_text</c>, <c>attributes</c> (map), <c>resource</c> (the resource's attributes, map), <c>scope</c>
/// (<c>name</c>, <c>version</c>), <c>trace_id</c> and <c>span_id</c> (lowercase hex, as W3C trace context and
/// CloudWatch show them), <c>trace_flags</c>, <c>event_name</c> and <c>observed_time_unix_nano</c>. The event time
/// is <c>time_unix_nano</c>, else <c>observed_time_unix_nano</c>, else the receive time (the OTLP spec's rule).
/// "log" follows Fluent Bit's convention, so the usual filters and CloudWatch's <c>log_key log</c> work unchanged.
/// Resource and scope maps are encoded once per group and copied into each record.
/// </summary>
internal sealed class OtlpLogRecordWriter : IDisposable
{
    /// <summary>Nesting limit of bodies and attribute values: deeper ones are refused (hostile input, stack).</summary>
    public const int MaxDepth = 32;

    private readonly PooledBufferWriter _resource = new(256);
    private readonly PooledBufferWriter _scope = new(128);

    public void Dispose()
    {
        _resource.Dispose();
        _scope.Dispose();
    }

    /// <summary>Writes every record of <paramref name="resourceLogs"/> into <paramref name="output"/>; returns how many.</summary>
    public int Write(PooledBufferWriter output, RepeatedField<ResourceLogs> resourceLogs, EventTime receivedAt)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(resourceLogs);
        var count = 0;
        var writer = new MessagePackWriter(output);
        foreach (var resource in resourceLogs)
        {
            _resource.Reset();
            if (resource.Resource is { Attributes.Count: > 0 } r)
            {
                var resourceWriter = new MessagePackWriter(_resource);
                WriteAttributes(ref resourceWriter, r.Attributes, 1);
                resourceWriter.Flush();
            }

            foreach (var scope in resource.ScopeLogs)
            {
                _scope.Reset();
                if (scope.Scope is { } s && (s.Name.Length > 0 || s.Version.Length > 0))
                {
                    var scopeWriter = new MessagePackWriter(_scope);
                    scopeWriter.WriteMapHeader(s.Version.Length > 0 ? 2 : 1);
                    scopeWriter.WriteString("name"u8);
                    scopeWriter.Write(s.Name);
                    if (s.Version.Length > 0)
                    {
                        scopeWriter.WriteString("version"u8);
                        scopeWriter.Write(s.Version);
                    }

                    scopeWriter.Flush();
                }

                foreach (var log in scope.LogRecords)
                {
                    WriteRecord(ref writer, log, receivedAt);
                    count++;
                }
            }
        }

        writer.Flush();
        return count;
    }

    private void WriteRecord(ref MessagePackWriter writer, LogRecord log, EventTime receivedAt)
    {
        var nanos = log.TimeUnixNano != 0 ? log.TimeUnixNano : log.ObservedTimeUnixNano;
        var time = nanos != 0 ? EventTime.FromUnixNanoseconds((long)nanos) : receivedAt;
        var traceId = log.TraceId.Span;
        var spanId = log.SpanId.Span;
        var hasTrace = traceId.Length == 16 && traceId.IndexOfAnyExcept((byte)0) >= 0;
        var hasSpan = spanId.Length == 8 && spanId.IndexOfAnyExcept((byte)0) >= 0;
        var traceFlags = log.Flags & 0xff;

        var fields = 0;
        fields += log.Body is not null ? 1 : 0;
        fields += log.SeverityNumber != SeverityNumber.Unspecified ? 1 : 0;
        fields += log.SeverityText.Length > 0 ? 1 : 0;
        fields += log.Attributes.Count > 0 ? 1 : 0;
        fields += _resource.WrittenCount > 0 ? 1 : 0;
        fields += _scope.WrittenCount > 0 ? 1 : 0;
        fields += hasTrace ? 1 : 0;
        fields += hasSpan ? 1 : 0;
        fields += traceFlags != 0 ? 1 : 0;
        fields += log.EventName.Length > 0 ? 1 : 0;
        fields += log.ObservedTimeUnixNano != 0 ? 1 : 0;

        writer.WriteArrayHeader(2);
        EventWriter.WriteTime(ref writer, time);
        writer.WriteMapHeader(fields);
        if (log.Body is { } body)
        {
            writer.WriteString("log"u8);
            WriteValue(ref writer, body, 1);
        }

        if (log.SeverityNumber != SeverityNumber.Unspecified)
        {
            writer.WriteString("severity_number"u8);
            writer.Write((int)log.SeverityNumber);
        }

        if (log.SeverityText.Length > 0)
        {
            writer.WriteString("severity_text"u8);
            writer.Write(log.SeverityText);
        }

        if (log.Attributes.Count > 0)
        {
            writer.WriteString("attributes"u8);
            WriteAttributes(ref writer, log.Attributes, 1);
        }

        if (_resource.WrittenCount > 0)
        {
            writer.WriteString("resource"u8);
            writer.WriteRaw(_resource.WrittenSpan);
        }

        if (_scope.WrittenCount > 0)
        {
            writer.WriteString("scope"u8);
            writer.WriteRaw(_scope.WrittenSpan);
        }

        if (hasTrace)
        {
            writer.WriteString("trace_id"u8);
            WriteHex(ref writer, traceId);
        }

        if (hasSpan)
        {
            writer.WriteString("span_id"u8);
            WriteHex(ref writer, spanId);
        }

        if (traceFlags != 0)
        {
            writer.WriteString("trace_flags"u8);
            writer.Write(traceFlags);
        }

        if (log.EventName.Length > 0)
        {
            writer.WriteString("event_name"u8);
            writer.Write(log.EventName);
        }

        if (log.ObservedTimeUnixNano != 0)
        {
            writer.WriteString("observed_time_unix_nano"u8);
            writer.Write(log.ObservedTimeUnixNano);
        }
    }

    private static void WriteHex(ref MessagePackWriter writer, ReadOnlySpan<byte> id)
    {
        // Hex digits straight into the output: no string per id.
        writer.WriteStringHeader(id.Length * 2);
        var hex = writer.GetSpan(id.Length * 2);
        Convert.TryToHexStringLower(id, hex, out var written);
        writer.Advance(written);
    }

    private static void WriteAttributes(ref MessagePackWriter writer, RepeatedField<KeyValue> attributes, int depth)
    {
        writer.WriteMapHeader(attributes.Count);
        for (var i = 0; i < attributes.Count; i++)
        {
            var attribute = attributes[i];
            writer.Write(attribute.Key);
            if (attribute.Value is { } value)
            {
                WriteValue(ref writer, value, depth);
            }
            else
            {
                writer.WriteNil();
            }
        }
    }

    private static void WriteValue(ref MessagePackWriter writer, AnyValue value, int depth)
    {
        switch (value.ValueCase)
        {
            case AnyValue.ValueOneofCase.StringValue:
                writer.Write(value.StringValue);
                break;
            case AnyValue.ValueOneofCase.BoolValue:
                writer.Write(value.BoolValue);
                break;
            case AnyValue.ValueOneofCase.IntValue:
                writer.Write(value.IntValue);
                break;
            case AnyValue.ValueOneofCase.DoubleValue:
                writer.Write(value.DoubleValue);
                break;
            case AnyValue.ValueOneofCase.BytesValue:
                writer.Write(value.BytesValue.Span);
                break;
            case AnyValue.ValueOneofCase.ArrayValue:
                CheckDepth(depth);
                var values = value.ArrayValue.Values;
                writer.WriteArrayHeader(values.Count);
                for (var i = 0; i < values.Count; i++)
                {
                    WriteValue(ref writer, values[i], depth + 1);
                }

                break;
            case AnyValue.ValueOneofCase.KvlistValue:
                CheckDepth(depth);
                WriteAttributes(ref writer, value.KvlistValue.Values, depth + 1);
                break;
            default:
                writer.WriteNil();
                break;
        }
    }

    private static void CheckDepth(int depth)
    {
        if (depth >= MaxDepth)
        {
            throw new EventBodyException($"a body or attribute value nests deeper than {MaxDepth} levels");
        }
    }
}
