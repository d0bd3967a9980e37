using System.Diagnostics.Metrics;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>S3 output instruments on the <c>Gateway</c> meter, tagged with the instance name.</summary>
internal sealed class S3Metrics(string instanceName) : OutputInstanceMetrics(instanceName)
{
    private static readonly Counter<long> RecordsIn = CreateCounter("gateway.s3.records_in", "{record}", "Records the S3 output received in flushes");
    private static readonly Counter<long> RecordsStored = CreateCounter("gateway.s3.records_stored", "{record}", "Records written and fsync'd to store_dir");
    private static readonly Counter<long> RecordsDropped = CreateCounter("gateway.s3.records_dropped", "{record}", "Records skipped (no log_key, malformed chunk)");
    private static readonly Counter<long> ObjectsUploaded = CreateCounter("gateway.s3.objects_uploaded", "{object}", "Objects put or completed in S3");
    private static readonly Counter<long> PartsUploaded = CreateCounter("gateway.s3.parts_uploaded", "{part}", "Multipart parts uploaded");
    private static readonly Counter<long> UploadFailures = CreateCounter("gateway.s3.upload_failures", "{request}", "S3 requests that failed (retried)");

    public void Received(long records) => Add(RecordsIn, records);

    public void Stored(long records) => Add(RecordsStored, records);

    public void Dropped(long records) => Add(RecordsDropped, records);

    public void ObjectUploaded() => Add(ObjectsUploaded, 1);

    public void PartUploaded() => Add(PartsUploaded, 1);

    public void UploadFailed() => Add(UploadFailures, 1);
}
