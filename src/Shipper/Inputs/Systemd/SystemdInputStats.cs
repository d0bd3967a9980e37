using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Inputs.Systemd;

/// <summary>
/// Counters of one systemd input: the shared chunk counters (<see cref="NodeInputStats"/>) plus entries read, bad
/// lines and journalctl restarts, published on the <c>Gateway</c> meter as <c>gateway.systemd.*</c>.
/// </summary>
public sealed class SystemdInputStats : NodeInputStats
{
    private static readonly Counters Shared = new("gateway.systemd");
    private static readonly Counter<long> EntriesCounter = Meter.CreateCounter<long>("gateway.systemd.entries_read", description: "Journal entries read from journalctl");
    private static readonly Counter<long> DroppedCounter = Meter.CreateCounter<long>("gateway.systemd.entries_dropped", description: "journalctl lines that could not be read as entries");
    private static readonly Counter<long> RestartsCounter = Meter.CreateCounter<long>("gateway.systemd.journalctl_restarts", description: "Times journalctl exited and was started again");

    private long _entriesRead;
    private long _entriesDropped;
    private long _restarts;

    internal SystemdInputStats(string inputName)
        : base(Shared, inputName)
    {
    }

    public long EntriesRead => Interlocked.Read(ref _entriesRead);

    public long EntriesDropped => Interlocked.Read(ref _entriesDropped);

    public long JournalctlRestarts => Interlocked.Read(ref _restarts);

    internal void OnEntry()
    {
        Interlocked.Increment(ref _entriesRead);
        EntriesCounter.Add(1, Tags);
    }

    internal void OnDropped()
    {
        Interlocked.Increment(ref _entriesDropped);
        DroppedCounter.Add(1, Tags);
    }

    internal void OnRestart()
    {
        Interlocked.Increment(ref _restarts);
        RestartsCounter.Add(1, Tags);
    }
}

internal static partial class SystemdLog
{
    [LoggerMessage(EventId = 2400, Level = LogLevel.Information, Message = "systemd {Input}: reading the journal: journalctl {Arguments}")]
    public static partial void Started(ILogger logger, string input, string arguments);

    [LoggerMessage(EventId = 2401, Level = LogLevel.Warning, Message = "systemd {Input}: journalctl line {Line} skipped: {Reason}")]
    public static partial void BadLine(ILogger logger, string input, long line, string reason);

    [LoggerMessage(EventId = 2402, Level = LogLevel.Error, Message = "systemd {Input}: journalctl exited with code {ExitCode} ({Stderr}); starting it again in {Delay}")]
    public static partial void JournalctlExited(ILogger logger, string input, int exitCode, string stderr, TimeSpan delay);

    [LoggerMessage(EventId = 2403, Level = LogLevel.Error, Message = "systemd {Input}: cannot start '{Program}': {Reason}; trying again in {Delay}")]
    public static partial void StartFailed(ILogger logger, string input, string program, string reason, TimeSpan delay);

    [LoggerMessage(EventId = 2404, Level = LogLevel.Warning, Message = "systemd {Input}: journalctl: {Message}")]
    public static partial void JournalctlStderr(ILogger logger, string input, string message);

    [LoggerMessage(EventId = 2405, Level = LogLevel.Warning, Message = "systemd {Input}: journalctl line {Line} is longer than {Limit} bytes and was skipped")]
    public static partial void LineTooLong(ILogger logger, string input, long line, int limit);

    [LoggerMessage(EventId = 2406, Level = LogLevel.Debug, Message = "systemd {Input}: an entry had more than Max_Fields {MaxFields} fields; the rest were dropped")]
    public static partial void FieldsTruncated(ILogger logger, string input, int maxFields);

    [LoggerMessage(EventId = 2408, Level = LogLevel.Warning, Message = "systemd {Input}: paused: {Unacked} bytes not acknowledged reached Mem_Buf_Limit {Limit}")]
    public static partial void Paused(ILogger logger, string input, long unacked, long limit);

    [LoggerMessage(EventId = 2409, Level = LogLevel.Information, Message = "systemd {Input}: resumed ({Unacked} bytes not acknowledged)")]
    public static partial void Resumed(ILogger logger, string input, long unacked);

    [LoggerMessage(EventId = 2407, Level = LogLevel.Information, Message = "systemd {Input}: resuming after the stored cursor {Cursor}")]
    public static partial void Resuming(ILogger logger, string input, string cursor);
}
