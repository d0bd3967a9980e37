using System.Diagnostics;
using System.Text;

namespace Gateway.Shipper.Tests.Fakes;

/// <summary>One journal entry to write: its realtime (µs) and data fields.</summary>
internal sealed record JournalTestEntry(long RealtimeMicros, IReadOnlyList<KeyValuePair<string, string>> Fields)
{
    public static JournalTestEntry Unit(long realtimeMicros, string? unit, string message, params (string Key, string Value)[] extra)
    {
        var fields = new List<KeyValuePair<string, string>>();
        if (unit is not null)
        {
            fields.Add(new("_SYSTEMD_UNIT", unit));
        }

        fields.Add(new("_HOSTNAME", "ip-10-0-1-23"));
        fields.Add(new("MESSAGE", message));
        fields.Add(new("PRIORITY", "6"));
        foreach (var (key, value) in extra)
        {
            fields.Add(new(key, value));
        }

        return new JournalTestEntry(realtimeMicros, fields);
    }
}

/// <summary>
/// Writes REAL journal files for the systemd input tests: export-format text converted by
/// <c>tests/Shipper/Systemd/make-journal.sh</c> (systemd-journal-remote). Each call writes a new file into the
/// directory, which a following journalctl picks up like a newly rotated journal file.
/// </summary>
internal sealed class JournalDirectory : IDisposable
{
    private const string BootId = "0123456789abcdef0123456789abcdef";
    private int _files;
    private long _monotonic;

    public JournalDirectory()
    {
        Root = Path.Combine(Path.GetTempPath(), "gw-journal-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
        JournalPath = Path.Combine(Root, "journal");
        Directory.CreateDirectory(JournalPath);
    }

    public string Root { get; }

    /// <summary>The directory given to the input as <c>Path</c>.</summary>
    public string JournalPath { get; }

    public string DbPath => Path.Combine(Root, "state", "systemd.db");

    /// <summary>Writes the entries as one new journal file.</summary>
    public void Write(IEnumerable<JournalTestEntry> entries)
    {
        var text = new StringBuilder();
        foreach (var entry in entries)
        {
            text.Append("__REALTIME_TIMESTAMP=").Append(entry.RealtimeMicros).Append('\n');
            text.Append("__MONOTONIC_TIMESTAMP=").Append(++_monotonic).Append('\n');
            text.Append("_BOOT_ID=").Append(BootId).Append('\n');
            foreach (var field in entry.Fields)
            {
                text.Append(field.Key).Append('=').Append(field.Value).Append('\n');
            }

            text.Append('\n');
        }

        _files++;
        var export = Path.Combine(Root, $"entries-{_files}.export");
        File.WriteAllText(export, text.ToString());
        var output = Path.Combine(JournalPath, $"part-{_files}.journal");
        var temp = Path.Combine(Root, $"part-{_files}.journal");
        Run(MakeJournalScript, export, temp);

        // Appear complete in the followed directory at once (journalctl must not see a half-written file).
        File.Move(temp, output);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }

    private static string MakeJournalScript =>
        Path.Combine(Gateway.Aggregator.Tests.EndToEnd.RepositoryPaths.RepositoryRoot, "tests", "Shipper", "Systemd", "make-journal.sh");

    private static void Run(string script, params string[] args)
    {
        var start = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(60_000))
        {
            process.Kill();
            throw new InvalidOperationException("make-journal.sh did not finish in 60 s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"make-journal.sh failed ({process.ExitCode}): {stderr}");
        }
    }
}
