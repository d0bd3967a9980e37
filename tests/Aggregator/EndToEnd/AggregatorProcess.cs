using System.Diagnostics;
using System.Net;
using System.Text;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>
/// The real aggregator as a child process (<c>dotnet Gateway.Aggregator.dll -c FILE</c>), as an operator runs
/// it: tests talk to it only over its ports and read its file output. Output is captured for failure messages.
/// </summary>
internal sealed class AggregatorProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(60);
    private readonly StringBuilder _log = new();
    private readonly HttpClient _http;
    private Process _process;
    private IReadOnlyDictionary<string, string>? _environment;

    private AggregatorProcess(Process process, string configPath, int httpPort)
    {
        _process = process;
        ConfigPath = configPath;
        HttpPort = httpPort;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}"), Timeout = TimeSpan.FromSeconds(10) };
    }

    public string ConfigPath { get; }

    public int HttpPort { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process printed so far (stdout and stderr interleaved).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    /// <summary>Writes <paramref name="configText"/> to <c>dir/fluent-bit.conf</c> and starts the aggregator on it.</summary>
    /// <param name="environment">Extra environment variables for the process (e.g. AWS credentials for a fake).</param>
    /// <summary>
    /// The config most end-to-end tests run: the HTTP server on 127.0.0.1 (readiness, metrics), a forward input on
    /// 127.0.0.1 with the filesystem buffer (acks after the segment write) under <paramref name="storagePath"/>,
    /// and the given <c>[OUTPUT]</c> section text.
    /// </summary>
    public static string ForwardToOutputConfig(string storagePath, int httpPort, int forwardPort, string outputSection) => $"""
        [SERVICE]
            Flush        1
            Log_Level    info
            HTTP_Server  On
            HTTP_Listen  127.0.0.1
            HTTP_Port    {httpPort}
            storage.path {storagePath}
            storage.sync normal

        [INPUT]
            Name         forward
            Listen       127.0.0.1
            Port         {forwardPort}
            storage.type filesystem

        {outputSection}
        """;

    public static AggregatorProcess Start(string dir, string configText, int httpPort, IReadOnlyDictionary<string, string>? environment = null)
    {
        var configPath = Path.Combine(dir, "fluent-bit.conf");
        File.WriteAllText(configPath, configText);
        var aggregator = new AggregatorProcess(null!, configPath, httpPort);
        aggregator._environment = environment;
        aggregator._process = aggregator.Launch(dir, environment);
        return aggregator;
    }

    /// <summary>Starts the aggregator on an existing config file (e.g. a seed's main file next to its includes);
    /// the working directory is <paramref name="dir"/>.</summary>
    public static AggregatorProcess StartWithConfigFile(string dir, string configPath, int httpPort, IReadOnlyDictionary<string, string>? environment = null)
    {
        var aggregator = new AggregatorProcess(null!, configPath, httpPort);
        aggregator._environment = environment;
        aggregator._process = aggregator.Launch(dir, environment);
        return aggregator;
    }

    /// <summary>Waits (bounded) until <c>/readyz</c> answers 200; fails with the process log otherwise.</summary>
    public async Task WaitReadyAsync()
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < ReadyTimeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the aggregator exited with {_process.ExitCode} before it was ready:\n{Log}");
            }

            try
            {
                using var response = await _http.GetAsync(new Uri("/readyz", UriKind.Relative));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Busy machine; try again until the deadline.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"the aggregator was not ready after {ReadyTimeout.TotalSeconds} s:\n{Log}");
    }

    /// <summary>kill -9: no shutdown code runs, exactly like an OOM kill or a node failure.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM, as the kubelet sends; returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (!_process.HasExited)
        {
            // .NET has no API to send SIGTERM to another process; kill(1) is on every Linux machine.
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return _process.ExitCode;
    }

    /// <summary>Starts the aggregator again on the same config and storage (after a kill).</summary>
    public void Restart()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("the aggregator is still running");
        }

        _process.Dispose();
        lock (_log)
        {
            _log.AppendLine("---- restart ----");
        }

        _process = Launch(Path.GetDirectoryName(ConfigPath)!, _environment);
    }

    public async Task<string> GetAsync(string path) => await _http.GetStringAsync(new Uri(path, UriKind.Relative));

    /// <summary>Resident memory now and at its peak (VmRSS, VmHWM from /proc), in bytes.</summary>
    public (long Rss, long Peak) Memory()
    {
        long rss = 0, peak = 0;
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                rss = ParseKb(line);
            }
            else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                peak = ParseKb(line);
            }
        }

        return (rss, peak);

        static long ParseKb(string line) =>
            long.Parse(line.AsSpan(6).Trim().TrimEnd("kB").Trim(), System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
        _http.Dispose();
    }

    private Process Launch(string workingDirectory, IReadOnlyDictionary<string, string>? environment)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(RepositoryPaths.AggregatorDll);
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(ConfigPath);
        // The tests must not export telemetry anywhere, whatever the CI environment sets.
        info.Environment.Remove("OTEL_EXPORTER_OTLP_ENDPOINT");
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }
}
