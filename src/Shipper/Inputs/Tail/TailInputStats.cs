using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Gateway.Shipper.Inputs.Tail;

/// <summary>
/// Counters of one tail input: the shared chunk counters (<see cref="NodeInputStats"/>) plus lines and bytes read
/// and what was skipped and why, published on the <c>Gateway</c> meter as <c>gateway.tail.*</c>.
/// </summary>
public sealed class TailInputStats : NodeInputStats
{
    private static readonly Counters Shared = new("gateway.tail");
    private static readonly Counter<long> LinesCounter = Meter.CreateCounter<long>("gateway.tail.lines_read", description: "Lines read from followed files");
    private static readonly Counter<long> BytesCounter = Meter.CreateCounter<long>("gateway.tail.bytes_read", "By", "Bytes read from followed files");
    private static readonly Counter<long> LongLinesCounter = Meter.CreateCounter<long>("gateway.tail.long_lines_skipped", description: "Lines longer than Buffer_Max_Size skipped (Skip_Long_Lines On)");
    private static readonly Counter<long> RotationsCounter = Meter.CreateCounter<long>("gateway.tail.rotations", description: "Files seen renamed away or deleted");
    private static readonly Counter<long> TruncationsCounter = Meter.CreateCounter<long>("gateway.tail.truncations", description: "Files seen truncated (copytruncate)");

    private long _linesRead;
    private long _bytesRead;
    private long _longLinesSkipped;
    private long _rotations;
    private long _truncations;
    private long _filesOpened;
    private long _filesClosed;

    internal TailInputStats(string inputName)
        : base(Shared, inputName)
    {
    }

    public long LinesRead => Interlocked.Read(ref _linesRead);

    public long BytesRead => Interlocked.Read(ref _bytesRead);

    public long LongLinesSkipped => Interlocked.Read(ref _longLinesSkipped);

    public long Rotations => Interlocked.Read(ref _rotations);

    public long Truncations => Interlocked.Read(ref _truncations);

    public long FilesOpened => Interlocked.Read(ref _filesOpened);

    public long FilesClosed => Interlocked.Read(ref _filesClosed);

    internal void OnRead(long bytes, long lines)
    {
        Interlocked.Add(ref _bytesRead, bytes);
        Interlocked.Add(ref _linesRead, lines);
        BytesCounter.Add(bytes, Tags);
        LinesCounter.Add(lines, Tags);
    }

    internal void OnLongLineSkipped()
    {
        Interlocked.Increment(ref _longLinesSkipped);
        LongLinesCounter.Add(1, Tags);
    }

    internal void OnRotation()
    {
        Interlocked.Increment(ref _rotations);
        RotationsCounter.Add(1, Tags);
    }

    internal void OnTruncation()
    {
        Interlocked.Increment(ref _truncations);
        TruncationsCounter.Add(1, Tags);
    }

    internal void OnFileOpened() => Interlocked.Increment(ref _filesOpened);

    internal void OnFileClosed() => Interlocked.Increment(ref _filesClosed);
}

internal static partial class TailLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "tail {Input}: following {Path} ({Identity}) from offset {Offset} with tag {Tag}")]
    public static partial void FileOpened(ILogger logger, string input, string path, string identity, long offset, string tag);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "tail {Input}: {Path} was rotated (renamed away); draining the old file for Rotate_Wait {RotateWait}")]
    public static partial void FileRotated(ILogger logger, string input, string path, TimeSpan rotateWait);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "tail {Input}: {Path} was deleted while open; draining what is left")]
    public static partial void FileDeleted(ILogger logger, string input, string path);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "tail {Input}: {Path} was truncated (size {Size} < offset {Offset}); reading again from the start")]
    public static partial void FileTruncated(ILogger logger, string input, string path, long size, long offset);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "tail {Input}: released {Path} ({Identity}) at offset {Offset}")]
    public static partial void FileReleased(ILogger logger, string input, string path, string identity, long offset);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "tail {Input}: {Path} has a line longer than Buffer_Max_Size ({MaxSize} bytes) at offset {Offset}; skipping it (Skip_Long_Lines On)")]
    public static partial void LongLineSkipped(ILogger logger, string input, string path, int maxSize, long offset);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "tail {Input}: {Path} has a line longer than Buffer_Max_Size ({MaxSize} bytes) at offset {Offset}; the file is no longer followed (set Skip_Long_Lines On or raise Buffer_Max_Size)")]
    public static partial void LongLineStopped(ILogger logger, string input, string path, int maxSize, long offset);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "tail {Input}: Tag_Regex does not match {Path}; the file is not followed")]
    public static partial void TagRegexNoMatch(ILogger logger, string input, string path);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "tail {Input}: cannot open {Path}: {Reason}")]
    public static partial void OpenFailed(ILogger logger, string input, string path, string reason);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Warning, Message = "tail {Input}: {Path} is shorter ({Size} bytes) than its stored offset {Offset} (truncated while stopped?); reading from the start")]
    public static partial void StoredOffsetBeyondEnd(ILogger logger, string input, string path, long size, long offset);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "tail {Input}: paused, {Unacked} unacknowledged bytes reached Mem_Buf_Limit {Limit}")]
    public static partial void Paused(ILogger logger, string input, long unacked, long limit);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "tail {Input}: resumed, {Unacked} unacknowledged bytes")]
    public static partial void Resumed(ILogger logger, string input, long unacked);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning, Message = "tail {Input}: cannot watch {Directory} for changes ({Reason}); polling every {Interval}")]
    public static partial void WatchFailed(ILogger logger, string input, string directory, string reason, TimeSpan interval);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Error, Message = "tail {Input}: reading {Path} failed: {Reason}")]
    public static partial void ReadFailed(ILogger logger, string input, string path, string reason);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Debug, Message = "tail {Input}: forgot stored offset of {Name} ({Identity}): the file no longer exists")]
    public static partial void StaleOffsetRemoved(ILogger logger, string input, string name, string identity);
}
