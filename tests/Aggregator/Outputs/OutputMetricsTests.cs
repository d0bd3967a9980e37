using System.Diagnostics.Metrics;
using Gateway.Aggregator.Outputs;

namespace Gateway.Aggregator.Tests.Outputs;

public sealed class OutputMetricsTests
{
    [Fact]
    public async Task Delivered_records_and_bytes_are_counted_per_output_on_the_gateway_meter()
    {
        var records = 0L;
        var bytes = 0L;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Gateway" && instrument.Name.StartsWith("gateway.output.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "output" && (string?)tag.Value == "null.metrics")
                {
                    if (instrument.Name == "gateway.output.records_out")
                    {
                        Interlocked.Add(ref records, value);
                    }
                    else if (instrument.Name == "gateway.output.bytes_out")
                    {
                        Interlocked.Add(ref bytes, value);
                    }
                }
            }
        });
        listener.Start();

        await using var output = OutputFactory.Create(OutputTestData.Section(("Name", "null")), new OutputContext { InstanceName = "null.metrics" });
        var chunk = OutputTestData.Chunk(count: 5);
        await output.FlushAsync(chunk, CancellationToken.None);

        Assert.Equal(5, Interlocked.Read(ref records));
        Assert.Equal(chunk.ByteLength, Interlocked.Read(ref bytes));
    }
}
