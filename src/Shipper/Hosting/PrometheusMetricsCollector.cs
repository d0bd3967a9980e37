using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Gateway.Shipper.Hosting;

/// <summary>
/// Collects the <c>Gateway</c> meter's instruments with a <see cref="MeterListener"/> and renders them in the
/// Prometheus text format (version 0.0.4), without the OpenTelemetry exporter (not AOT-friendly here, and a
/// node agent has little to export). Counters become <c>name_total</c>, gauges keep their last value,
/// histograms export <c>_sum</c> and <c>_count</c>. Dots in names become underscores.
/// </summary>
internal sealed class PrometheusMetricsCollector : IDisposable
{
    public const string MeterName = "Gateway";

    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly Dictionary<Instrument, List<Series>> _series = [];

    public PrometheusMetricsCollector()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    /// <summary>The current values as Prometheus text.</summary>
    public string Render()
    {
        // Observable instruments report only when asked.
        _listener.RecordObservableInstruments();
        var text = new StringBuilder(4096);
        lock (_lock)
        {
            var instruments = new List<Instrument>(_series.Keys);
            instruments.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            foreach (var instrument in instruments)
            {
                var name = MetricName(instrument.Name);
                var kind = Kind(instrument);
                var exported = kind == "counter" ? name + "_total" : name;
                if (!string.IsNullOrEmpty(instrument.Description))
                {
                    text.Append("# HELP ").Append(exported).Append(' ').Append(instrument.Description).Append('\n');
                }

                text.Append("# TYPE ").Append(exported).Append(' ').Append(kind).Append('\n');
                foreach (var series in _series[instrument])
                {
                    if (kind == "summary")
                    {
                        AppendSample(text, name + "_sum", series.Labels, series.Value);
                        AppendSample(text, name + "_count", series.Labels, series.Count);
                    }
                    else
                    {
                        AppendSample(text, exported, series.Labels, series.Value);
                    }
                }
            }
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var cumulative = instrument is Counter<long> or Counter<int> or Counter<double> or UpDownCounter<long> or UpDownCounter<int> or UpDownCounter<double>
            or Histogram<long> or Histogram<int> or Histogram<double>;
        lock (_lock)
        {
            if (!_series.TryGetValue(instrument, out var list))
            {
                list = [];
                _series.Add(instrument, list);
            }

            var series = Find(list, tags);
            if (series is null)
            {
                series = new Series(Labels(tags), tags.ToArray());
                list.Add(series);
            }

            series.Value = cumulative ? series.Value + value : value;
            series.Count++;
        }
    }

    // Measurements come per chunk, not per record; a linear scan over a handful of label sets is enough.
    private static Series? Find(List<Series> list, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        foreach (var series in list)
        {
            if (series.Tags.Length != tags.Length)
            {
                continue;
            }

            var same = true;
            for (var i = 0; i < tags.Length && same; i++)
            {
                same = series.Tags[i].Key == tags[i].Key && Equals(series.Tags[i].Value, tags[i].Value);
            }

            if (same)
            {
                return series;
            }
        }

        return null;
    }

    private static string Kind(Instrument instrument) => instrument switch
    {
        Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double> => "counter",
        Histogram<long> or Histogram<int> or Histogram<double> => "summary",
        _ => "gauge",
    };

    private static string MetricName(string name)
    {
        var chars = name.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (!char.IsAsciiLetterOrDigit(chars[i]) && chars[i] != '_' && chars[i] != ':')
            {
                chars[i] = '_';
            }
        }

        return new string(chars);
    }

    private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return string.Empty;
        }

        var text = new StringBuilder("{");
        for (var i = 0; i < tags.Length; i++)
        {
            if (i > 0)
            {
                text.Append(',');
            }

            var value = Convert.ToString(tags[i].Value, CultureInfo.InvariantCulture) ?? string.Empty;
            text.Append(MetricName(tags[i].Key)).Append("=\"")
                .Append(value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal))
                .Append('"');
        }

        return text.Append('}').ToString();
    }

    private static void AppendSample(StringBuilder text, string name, string labels, double value) =>
        text.Append(name).Append(labels).Append(' ').Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');

    private sealed class Series(string labels, KeyValuePair<string, object?>[] tags)
    {
        public string Labels { get; } = labels;

        public KeyValuePair<string, object?>[] Tags { get; } = tags;

        public double Value { get; set; }

        public long Count { get; set; }
    }
}
