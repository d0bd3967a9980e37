using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>S3 output instruments on the <c>Gateway</c> meter, tagged with the instance name.</summary>
internal sealed class S3Metrics
{
    private static readonly Meter SharedMeter = new(OutputMetrics.MeterName);
    private static readonly Counter<long> RecordsIn = SharedMeter.CreateCounter<long>("gateway.s3.records_in", "{record}", "Records the S3 output received in flushes");
    private static readonly Counter<long> RecordsStored = SharedMeter.CreateCounter<long>("gateway.s3.records_stored", "{record}", "Records written and fsync'd to store_dir");
    private static readonly Counter<long> RecordsDropped = SharedMeter.CreateCounter<long>("gateway.s3.records_dropped", "{record}", "Records skipped (no log_key, malformed chunk)");
    private static readonly Counter<long> ObjectsUploaded = SharedMeter.CreateCounter<long>("gateway.s3.objects_uploaded", "{object}", "Objects put or completed in S3");
    private static readonly Counter<long> PartsUploaded = SharedMeter.CreateCounter<long>("gateway.s3.parts_uploaded", "{part}", "Multipart parts uploaded");
    private static readonly Counter<long> UploadFailures = SharedMeter.CreateCounter<long>("gateway.s3.upload_failures", "{request}", "S3 requests that failed (retried)");

    private readonly KeyValuePair<string, object?> _tag;

    public S3Metrics(string instanceName)
    {
        _tag = new KeyValuePair<string, object?>("output", instanceName);
    }

    public void Received(long records) => RecordsIn.Add(records, _tag);

    public void Stored(long records) => RecordsStored.Add(records, _tag);

    public void Dropped(long records) => RecordsDropped.Add(records, _tag);

    public void ObjectUploaded() => ObjectsUploaded.Add(1, _tag);

    public void PartUploaded() => PartsUploaded.Add(1, _tag);

    public void UploadFailed() => UploadFailures.Add(1, _tag);
}
