using System.Diagnostics;
using System.Text;

namespace Gateway.Aggregator.Tests.EndToEnd;

/// <summary>Runs one of the real-client scripts in tests/clients with node or python3, bounded in time.</summary>
internal static class ClientScript
{
    public sealed record Result(int ExitCode, string Output)
    {
        public override string ToString() => $"exit {ExitCode}:\n{Output}";
    }

    /// <summary>
    /// Debian's python3-fluent-logger installs for the system interpreter; a python3 earlier on PATH (pyenv,
    /// venv) would not see it, so the system one is preferred.
    /// </summary>
    public static string Python => File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    public static Task<Result> NodeAsync(string script, params string[] args) => RunAsync("node", script, args);

    public static Task<Result> PythonAsync(string script, params string[] args) => RunAsync(Python, script, args);

    private static async Task<Result> RunAsync(string interpreter, string script, string[] args)
    {
        var scriptPath = Path.Combine(RepositoryPaths.ClientsDirectory, script);
        if (interpreter == "node" && !Directory.Exists(Path.Combine(RepositoryPaths.ClientsDirectory, "node_modules")))
        {
            throw new InvalidOperationException("tests/clients/node_modules is missing: run .ci/run (or npm ci in tests/clients)");
        }

        var info = new ProcessStartInfo(interpreter)
        {
            WorkingDirectory = RepositoryPaths.ClientsDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(scriptPath);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{script} did not finish in 90 s:\n{Snapshot()}");
        }

        process.WaitForExit(); // flushes the async output readers
        return new Result(process.ExitCode, Snapshot());

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }

        string Snapshot()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }
}
