using System.Buffers;
using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading.Channels;
using Gateway.Engine.Buffers;
using Gateway.Engine.Config;
using Gateway.Engine.Records;
using Gateway.Shipper.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gateway.Shipper.Inputs.Systemd;

/// <summary>What a systemd input needs from its host besides its section.</summary>
public sealed class SystemdInputContext
{
    /// <summary>Instance name for logs and metrics, e.g. <c>systemd.0</c>.</summary>
    public string Name { get; init; } = "systemd.0";

    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>Clock for entries without a time and for the restart delay.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Set on every chunk (<see cref="EventChunk.NodeName"/>).</summary>
    public string? NodeName { get; init; }

    /// <summary>Chunks produced but not yet taken from <see cref="SystemdInput.Chunks"/>; reading waits when full.</summary>
    public int ChunkQueueCapacity { get; init; } = 64;

    /// <summary>The journalctl program (a name looked up on PATH, or a path).</summary>
    public string JournalctlPath { get; init; } = "journalctl";

    /// <summary>How long to wait before starting journalctl again after it exited or could not start.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// Fluent Bit's <c>systemd</c> input for the node shipper: reads the journal through
/// <c>journalctl --output=json --follow</c> (with <c>Systemd_Filter</c> matches), packs each entry as Fluent Bit does
/// (see <see cref="JournalEntryEncoder"/>) and hands out <see cref="InputChunk{TToken}"/>s on <see cref="Chunks"/>, one tag
/// per chunk (<c>*</c> in <c>Tag</c> is the entry's unit). The cursor of a chunk's last entry is its commit token and
/// reaches <c>DB</c> only when the chunk — and every chunk before it — is acknowledged; a start resumes with
/// <c>--after-cursor</c> from there, so unacknowledged entries are read again and acknowledged ones are not.
/// </summary>
/// <remarks>
/// journalctl rather than libsystemd: the shipper is NativeAOT and carries no native dependencies; journalctl is on
/// every systemd node and in the node image. If journalctl exits, it is started again after
/// <see cref="SystemdInputContext.RestartDelay"/> from the last cursor handed out.
/// </remarks>
public sealed class SystemdInput : IAsyncDisposable
{
    private const int MaxChunkBytes = 1_024_000; // Fluent Bit's in_systemd flushes its buffer past ~1 MB
    private const int MaxLineBytes = 16 * 1024 * 1024;

    private readonly SystemdInputOptions _options;
    private readonly SystemdInputContext _context;
    private readonly ILogger _logger;
    private readonly Channel<InputChunk<JournalCursorToken>> _chunks;
    private readonly JournalCursorStore? _store;
    private readonly JournalCursorTracker _tracker;
    private readonly ChunkAcknowledgement _acknowledgement;
    private readonly JournalEntryEncoder _encoder;
    private readonly PooledBufferWriter _batch = new(64 * 1024);
    private readonly List<InputChunk<JournalCursorToken>> _ready = new();
    private readonly SemaphoreSlim _roomFreed = new(0, 1);
    private readonly string _tag;
    private readonly bool _dynamicTag;
    private byte[] _batchUnit = new byte[256];
    private int _batchUnitLength = -1;
    private byte[] _batchCursor = new byte[256];
    private int _batchCursorLength;
    private string _batchTag;
    private int _batchCount;
    private string? _lastEmittedCursor;
    private long _lineNumber;
    private bool _paused;
    private int _disposed;

    /// <summary>Creates the input; opens the cursor DB when <c>DB</c> is set.</summary>
    /// <exception cref="InvalidDataException">The DB file exists and is not a cursor DB.</exception>
    public SystemdInput(SystemdInputOptions options, SystemdInputContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _context = context ?? new SystemdInputContext();
        _logger = _context.Logger;
        Stats = new SystemdInputStats(_context.Name);
        if (options.DbPath is not null)
        {
            _store = JournalCursorStore.Open(options.DbPath, options.DbSync);
        }

        _tracker = new JournalCursorTracker(_store);
        _encoder = new JournalEntryEncoder(options, _context.Time);
        _tracker.Acknowledged += OnAcknowledged;
        _acknowledgement = new ChunkAcknowledgement(_tracker, Stats);
        _tag = options.Tag ?? _context.Name;
        _dynamicTag = _tag.Contains('*', StringComparison.Ordinal);
        _batchTag = _tag;
        _chunks = Channel.CreateBounded<InputChunk<JournalCursorToken>>(new BoundedChannelOptions(Math.Max(1, _context.ChunkQueueCapacity))
        {
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    /// <summary>Chunks in journal order. Acknowledge each once the aggregator has it.</summary>
    public ChannelReader<InputChunk<JournalCursorToken>> Chunks => _chunks.Reader;

    public SystemdInputStats Stats { get; }

    public SystemdInputOptions Options => _options;

    /// <summary>Bytes handed out and not yet acknowledged (what <c>Mem_Buf_Limit</c> bounds).</summary>
    public long UnacknowledgedBytes => _tracker.UnackedBytes;

    /// <summary>True while reading waits for acknowledgements because of <c>Mem_Buf_Limit</c>.</summary>
    public bool IsPaused => Volatile.Read(ref _paused);

    /// <summary>The cursor the DB holds: everything up to it was acknowledged.</summary>
    public string? CommittedCursor => _tracker.CommittedCursor;

    /// <summary>
    /// Builds a systemd input from an <c>[INPUT] Name systemd</c> section. Problems go to
    /// <paramref name="diagnostics"/> with file:line; returns null when there is an error.
    /// </summary>
    public static SystemdInput? FromSection(ConfigSection section, SystemdInputContext context, ICollection<ConfigDiagnostic> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(section);
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var options = SystemdInputOptions.FromSection(section, diagnostics);
        if (options is null)
        {
            return null;
        }

        try
        {
            return new SystemdInput(options, context);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            var location = section.Find("DB")?.Location ?? section.Location;
            diagnostics.Add(new ConfigDiagnostic(location, DiagnosticSeverity.Error, $"[INPUT systemd] cannot open DB '{options.DbPath}': {ex.Message}"));
            return null;
        }
    }

    /// <summary>Reads the journal until cancelled; then completes <see cref="Chunks"/>.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_tracker.CommittedCursor is { } stored)
            {
                SystemdLog.Resuming(_logger, _context.Name, stored);
            }

            while (!cancellationToken.IsCancellationRequested)
            {
                await RunJournalctlOnceAsync(cancellationToken).ConfigureAwait(false);
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                Stats.OnRestart();
                await Task.Delay(_context.RestartDelay, _context.Time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutdown: whatever was not acknowledged is read again on the next start.
        }
        finally
        {
            _chunks.Writer.TryComplete();
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _tracker.Acknowledged -= OnAcknowledged;
        _encoder.Dispose();
        _batch.Dispose();
        _roomFreed.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task RunJournalctlOnceAsync(CancellationToken cancellationToken)
    {
        var arguments = JournalctlArguments.Build(_options, _lastEmittedCursor ?? _tracker.CommittedCursor);
        var start = new ProcessStartInfo(_context.JournalctlPath)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("no process was started");
        }
        catch (Exception ex) when (ex is Win32Exception or InvalidOperationException)
        {
            SystemdLog.StartFailed(_logger, _context.Name, _context.JournalctlPath, ex.Message, _context.RestartDelay);
            return;
        }

        using (process)
        {
            SystemdLog.Started(_logger, _context.Name, string.Join(' ', arguments));
            var lastStderr = new StrongBox<string>(string.Empty);
            var stderrTask = PumpStderrAsync(process, lastStderr);
            using (cancellationToken.Register(static p => Kill((Process)p!), process))
            {
                try
                {
                    await PumpStdoutAsync(process.StandardOutput.BaseStream, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Kill(process);
                    await stderrTask.ConfigureAwait(false);
                    await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }

            cancellationToken.ThrowIfCancellationRequested();
            SystemdLog.JournalctlExited(_logger, _context.Name, process.ExitCode, lastStderr.Value ?? string.Empty, _context.RestartDelay);
        }
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception or NotSupportedException)
        {
            // Already gone.
        }
    }

    /// <summary>Mem_Buf_Limit: stop reading (journalctl then blocks on its pipe) until acknowledgements free room.</summary>
    private async ValueTask WaitForRoomAsync(CancellationToken cancellationToken)
    {
        if (_options.MemBufLimit <= 0 || _tracker.UnackedBytes < _options.MemBufLimit)
        {
            return;
        }

        Volatile.Write(ref _paused, true);
        Stats.OnPause();
        SystemdLog.Paused(_logger, _context.Name, _tracker.UnackedBytes, _options.MemBufLimit);
        while (_tracker.UnackedBytes >= _options.MemBufLimit)
        {
            // Also re-check now and then: an acknowledgement racing the check above must not leave us asleep.
            await _roomFreed.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
        }

        Volatile.Write(ref _paused, false);
        SystemdLog.Resumed(_logger, _context.Name, _tracker.UnackedBytes);
    }

    private void OnAcknowledged()
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        try
        {
            if (_roomFreed.CurrentCount == 0)
            {
                _roomFreed.Release();
            }
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
        catch (ObjectDisposedException)
        {
            // Shut down.
        }
    }

    private async Task PumpStderrAsync(Process process, StrongBox<string> last)
    {
        try
        {
            while (await process.StandardError.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                if (line.Length > 0)
                {
                    last.Value = line;
                    SystemdLog.JournalctlStderr(_logger, _context.Name, line);
                }
            }
        }
        catch (IOException)
        {
            // The process went away.
        }
    }

    private async Task PumpStdoutAsync(Stream stdout, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        var filled = 0;
        var skippingLongLine = false;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    if (buffer.Length < MaxLineBytes)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(MaxLineBytes, buffer.Length * 2));
                        buffer.AsSpan(0, filled).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                    else
                    {
                        if (!skippingLongLine)
                        {
                            SystemdLog.LineTooLong(_logger, _context.Name, _lineNumber + 1, MaxLineBytes);
                            Stats.OnDropped();
                        }

                        skippingLongLine = true;
                        filled = 0;
                    }
                }

                await WaitForRoomAsync(cancellationToken).ConfigureAwait(false);
                var n = await stdout.ReadAsync(buffer.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }

                filled += n;
                var consumed = ProcessLines(buffer.AsSpan(0, filled), ref skippingLongLine);
                buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                filled -= consumed;

                // Nothing more is waiting in this read: hand out what we have rather than hold entries back.
                CloseBatch();
                await PublishReadyAsync(cancellationToken).ConfigureAwait(false);
            }

            CloseBatch();
            await PublishReadyAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Encodes every complete line; returns the bytes consumed.</summary>
    private int ProcessLines(ReadOnlySpan<byte> data, ref bool skippingLongLine)
    {
        var consumed = 0;
        while (true)
        {
            var newline = data[consumed..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                return consumed;
            }

            var line = data.Slice(consumed, newline);
            consumed += newline + 1;
            _lineNumber++;
            if (skippingLongLine)
            {
                skippingLongLine = false;
                continue;
            }

            ProcessLine(line);
        }
    }

    private void ProcessLine(ReadOnlySpan<byte> line)
    {
        if (line.Trim(" \t\r"u8).IsEmpty)
        {
            return;
        }

        var before = _batch.WrittenCount;
        if (!_encoder.TryEncode(line, _batch, out var error))
        {
            Stats.OnDropped();
            SystemdLog.BadLine(_logger, _context.Name, _lineNumber, error ?? "unreadable");
            return;
        }

        Stats.OnEntry();
        if (_encoder.FieldsTruncated)
        {
            SystemdLog.FieldsTruncated(_logger, _context.Name, _options.MaxFields);
        }

        if (_dynamicTag)
        {
            var unit = _encoder.HasUnit ? _encoder.Unit : "unknown"u8;
            if (_batchUnitLength < 0 || !unit.SequenceEqual(_batchUnit.AsSpan(0, _batchUnitLength)))
            {
                if (_batchCount > 0)
                {
                    // Fluent Bit's in_systemd: a new tag starts a new chunk.
                    Emit(before);
                    _batch.RemovePrefix(before);
                }

                _batchUnitLength = Copy(ref _batchUnit, unit);
                _batchTag = ComposeTag(_tag, unit);
            }
        }

        if (!_encoder.Cursor.IsEmpty)
        {
            _batchCursorLength = Copy(ref _batchCursor, _encoder.Cursor);
        }

        _batchCount++;
        if (_batchCount >= _options.MaxEntries || _batch.WrittenCount >= MaxChunkBytes)
        {
            CloseBatch();
        }
    }

    private void CloseBatch()
    {
        if (_batchCount > 0)
        {
            Emit(_batch.WrittenCount);
            _batch.Reset();
        }
    }

    /// <summary>Turns the first <paramref name="length"/> bytes (all <see cref="_batchCount"/> entries) into a ready chunk.</summary>
    private void Emit(int length)
    {
        var events = _batch.WrittenSpan[..length].ToArray();
        var chunk = new EventChunk(_batchTag, events, _batchCount, _context.NodeName);
        var cursor = _batchCursorLength > 0
            ? Encoding.UTF8.GetString(_batchCursor, 0, _batchCursorLength)
            : _lastEmittedCursor ?? _tracker.CommittedCursor ?? string.Empty;
        var token = _tracker.Register(cursor, events.Length);
        _ready.Add(new InputChunk<JournalCursorToken>(chunk, token, _acknowledgement));
        if (cursor.Length > 0)
        {
            _lastEmittedCursor = cursor;
        }

        _batchCount = 0;
    }

    private async ValueTask PublishReadyAsync(CancellationToken cancellationToken)
    {
        foreach (var chunk in _ready)
        {
            await _chunks.Writer.WriteAsync(chunk, cancellationToken).ConfigureAwait(false);
            Stats.OnChunk(chunk.Chunk);
        }

        _ready.Clear();
    }

    private static int Copy(ref byte[] destination, ReadOnlySpan<byte> value)
    {
        if (value.Length > destination.Length)
        {
            destination = new byte[value.Length];
        }

        value.CopyTo(destination);
        return value.Length;
    }

    /// <summary>Fluent Bit's <c>tag_compose</c>: the first <c>*</c> becomes the unit name.</summary>
    internal static string ComposeTag(string tag, ReadOnlySpan<byte> unit)
    {
        var star = tag.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return tag;
        }

        return string.Concat(tag.AsSpan(0, star), Encoding.UTF8.GetString(unit), tag.AsSpan(star + 1));
    }

    /// <summary>An acknowledged chunk moves the journal cursor and counts as delivered.</summary>
    private sealed class ChunkAcknowledgement(JournalCursorTracker tracker, SystemdInputStats stats) : IInputChunkAcknowledgement<JournalCursorToken>
    {
        public void OnAcknowledged(JournalCursorToken token, EventChunk chunk)
        {
            tracker.Acknowledge(token);
            stats.OnAcknowledged(chunk);
        }
    }
}
