using System.Diagnostics;
using System.Text;
using Gateway.Aggregator.Tests.EndToEnd;

namespace Gateway.Shipper.Tests.EndToEnd;

/// <summary>
/// The real shipper as a child process (<c>dotnet Gateway.Shipper.dll -c FILE --aggregator HOST:PORT</c>) with the
/// environment a DaemonSet gives it (<c>NODE_NAME</c>) and <c>GATEWAY_PATH_ROOT</c> re-rooting /var/log and the
/// offset DBs under a test directory. Output is captured for failure messages.
/// </summary>
internal sealed class ShipperProcess : IAsyncDisposable
{
    private readonly StringBuilder _log = new();
    private readonly string _configPath;
    private readonly string _aggregator;
    private readonly IReadOnlyDictionary<string, string> _environment;
    private Process _process;

    private ShipperProcess(string configPath, string aggregator, IReadOnlyDictionary<string, string> environment)
    {
        _configPath = configPath;
        _aggregator = aggregator;
        _environment = environment;
        _process = Launch();
    }

    public bool HasExited => _process.HasExited;

    public int Restarts { get; private set; }

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

    /// <summary>
    /// The shipper built in the same configuration as these tests:
    /// <c>src/Shipper/bin/&lt;Configuration&gt;/&lt;tfm&gt;/Gateway.Shipper.dll</c> (the test project references it).
    /// </summary>
    public static string ShipperDll
    {
        get
        {
            var tfmDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var configuration = tfmDir.Parent?.Name ?? "Debug";
            var path = Path.Combine(RepositoryPaths.RepositoryRoot, "src", "Shipper", "bin", configuration, tfmDir.Name, "Gateway.Shipper.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException($"the shipper is not built at {path}", path);
        }
    }

    public static ShipperProcess Start(string configPath, string aggregator, IReadOnlyDictionary<string, string> environment) =>
        new(configPath, aggregator, environment);

    /// <summary>kill -9: no shutdown code runs, offsets are whatever the DB held.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    public void Restart()
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("the shipper is still running");
        }

        _process.Dispose();
        Restarts++;
        lock (_log)
        {
            _log.AppendLine("---- restart ----");
        }

        _process = Launch();
    }

    /// <summary>SIGTERM, as the kubelet sends; returns the exit code.</summary>
    public async Task<int> TerminateAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
    }

    private Process Launch()
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(_configPath)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(ShipperDll);
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(_configPath);
        info.ArgumentList.Add("--aggregator");
        info.ArgumentList.Add(_aggregator);
        info.Environment["DOTNET_gcServer"] = "0";
        foreach (var variable in new[] { "NODE_NAME", "HOST_NAME", "K8S_NODE_NAME", "GATEWAY_PATH_ROOT" })
        {
            info.Environment.Remove(variable);
        }

        foreach (var (name, value) in _environment)
        {
            info.Environment[name] = value;
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
