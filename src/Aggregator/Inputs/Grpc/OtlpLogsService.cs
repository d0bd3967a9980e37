using Gateway.Engine.Buffers;
using Gateway.Engine.Records;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Proto.Collector.Logs.V1;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>
/// OTLP/gRPC logs receiver (<c>opentelemetry.proto.collector.logs.v1.LogsService/Export</c>) of an
/// <c>[INPUT] Name opentelemetry</c>. One Export request becomes one chunk under the input's <c>Tag</c>
/// (records shaped by <see cref="OtlpLogRecordWriter"/>); the response is sent only after the sink stored it, so
/// an SDK's retry on failure is the same at-least-once contract as a forward ack. A request over
/// <c>Buffer_Max_Size</c> is ResourceExhausted, a malformed one InvalidArgument; OTLP exporters do not retry those.
/// </summary>
internal sealed class OtlpLogsService : LogsService.LogsServiceBase
{
    private static readonly ExportLogsServiceResponse Accepted = new();
    private readonly ILogger<OtlpLogsService> _logger;

    public OtlpLogsService(ILogger<OtlpLogsService> logger)
    {
        _logger = logger;
    }

    public override async Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var binding = GrpcIngestBinding.Resolve(context, GrpcInputProtocol.OtlpLogs);
        var options = binding.Options;
        using var buffer = new PooledBufferWriter(8192);
        using var records = new OtlpLogRecordWriter();
        int count;
        try
        {
            count = records.Write(buffer, request.ResourceLogs, EventTime.Now(TimeProvider.System));
        }
        catch (EventBodyException ex)
        {
            throw Refuse(binding, context, StatusCode.InvalidArgument, ex.Message);
        }

        if (buffer.WrittenCount > options.MaxBatchBytes)
        {
            throw Refuse(binding, context, StatusCode.ResourceExhausted,
                $"{count} log records encode to {buffer.WrittenCount} bytes, over Buffer_Max_Size ({options.MaxBatchBytes}); export smaller batches (e.g. BatchLogRecordExportProcessor MaxExportBatchSize)");
        }

        if (count > 0)
        {
            await binding.Sink.AppendAsync(new EventChunk(options.Tag, buffer.WrittenMemory, count), context.CancellationToken).ConfigureAwait(false);
            binding.Metrics.Stored(count, buffer.WrittenCount);
        }

        return Accepted;
    }

    private RpcException Refuse(GrpcIngestBinding binding, ServerCallContext context, StatusCode code, string reason)
    {
        binding.Metrics.Rejected();
        GrpcAppLog.OtlpExportRefused(_logger, binding.Options.Name, context.Peer, reason);
        return new RpcException(new Status(code, $"OTLP logs export (input {binding.Options.Name}): {reason}"));
    }
}
