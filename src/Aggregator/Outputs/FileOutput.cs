using System.Buffers;
using System.Text;
using Gateway.Engine.Buffers;
using Gateway.Engine.Json;
using Gateway.Engine.Pipeline;
using Gateway.Engine.Records;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Outputs;

/// <summary>Settings of one file output instance, as Fluent Bit's out_file options.</summary>
internal sealed record FileOutputSettings(
    string? Directory,
    string? FileName,
    bool Mkdir,
    FileLineFormat Format,
    string Delimiter,
    string LabelDelimiter,
    string Template,
    bool CsvColumnNames,
    FluentJsonFlags JsonFlags = FluentJsonFlags.None);

/// <summary>
/// Fluent Bit's <c>file</c> output: appends each chunk to <c>Path/File</c> (the file name defaults to the tag).
/// The chunk is rendered into a pooled buffer and written with a single write call; if that write fails the file
/// is cut back to its previous length so a retried chunk is not written twice.
/// </summary>
internal sealed class FileOutput : IOutput
{
    private readonly FileOutputSettings _settings;
    private readonly string _baseDirectory;
    private readonly ILogger _logger;
    private readonly OutputMetrics _metrics;
    private readonly byte[] _delimiter;
    private readonly byte[] _labelDelimiter;
    private readonly byte[] _template;

    // Workers of one instance may flush concurrently; serialising the open/append/rollback keeps a rollback from
    // cutting another worker's lines.
    private readonly SemaphoreSlim _fileLock = new(1, 1);

    public FileOutput(string name, FileOutputSettings settings, string baseDirectory, ILogger logger)
    {
        Name = name;
        _settings = settings;
        _baseDirectory = baseDirectory;
        _logger = logger;
        _metrics = new OutputMetrics(name);
        _delimiter = Encoding.UTF8.GetBytes(settings.Delimiter);
        _labelDelimiter = Encoding.UTF8.GetBytes(settings.LabelDelimiter);
        _template = Encoding.UTF8.GetBytes(settings.Template);
    }

    public string Name { get; }

    /// <summary>The file a chunk with this tag goes to: <c>Path/File</c>, <c>Path/tag</c>, <c>File</c> or <c>tag</c>.</summary>
    public string ResolvePath(string tag)
    {
        var fileName = _settings.FileName ?? tag;
        var combined = _settings.Directory is null ? fileName : Path.Combine(_settings.Directory, fileName);
        return Path.GetFullPath(combined, _baseDirectory);
    }

    public async ValueTask<FlushResult> FlushAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        var path = ResolvePath(chunk.Tag);
        var isNewFile = !File.Exists(path);
        using var buffer = new PooledBufferWriter(Math.Max(4096, chunk.ByteLength * 2));
        int records;
        try
        {
            records = Render(chunk, buffer, isNewFile);
        }
        catch (Exception ex) when (ex is EventFormatException or MsgpackFormatException)
        {
            OutputLog.MalformedChunk(_logger, Name, chunk.Tag, ex.Message);
            return _metrics.Failed(FlushResult.Error);
        }

        await _fileLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var outcome = await AppendAsync(path, buffer.WrittenMemory, cancellationToken).ConfigureAwait(false);
            if (outcome != FlushResult.Ok)
            {
                return _metrics.Failed(outcome);
            }
        }
        finally
        {
            _fileLock.Release();
        }

        _metrics.Delivered(records, buffer.WrittenCount);
        return FlushResult.Ok;
    }

    public ValueTask DisposeAsync()
    {
        _fileLock.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<FlushResult> AppendAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            stream = Open(path);
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or UnauthorizedAccessException)
        {
            // Fluent Bit gives up on a chunk it cannot open a file for; retrying cannot create a directory.
            OutputLog.FileOpenFailed(_logger, Name, path, ex.Message);
            return FlushResult.Error;
        }
        catch (IOException ex)
        {
            OutputLog.FileOpenFailed(_logger, Name, path, ex.Message);
            return FlushResult.Retry;
        }

        await using (stream.ConfigureAwait(false))
        {
            var lengthBefore = stream.Length;
            try
            {
                await stream.WriteAsync(content, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException ex)
            {
                OutputLog.FileWriteFailed(_logger, Name, path, ex.Message);
                TryRollBack(stream, path, lengthBefore);
                return FlushResult.Retry;
            }
        }

        return FlushResult.Ok;
    }

    private FileStream Open(string path)
    {
        try
        {
            return OpenAppend(path);
        }
        catch (DirectoryNotFoundException) when (_settings.Mkdir)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return OpenAppend(path);
        }
    }

    private static FileStream OpenAppend(string path) =>
        new(path, new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.ReadWrite | FileShare.Delete,
            Options = FileOptions.Asynchronous,
            BufferSize = 0,
        });

    private void TryRollBack(FileStream stream, string path, long length)
    {
        try
        {
            stream.SetLength(length);
            OutputLog.FileRolledBack(_logger, Name, path, length);
        }
        catch (IOException)
        {
            // The retry may then duplicate part of the chunk; nothing better can be done on a failing disk.
        }
    }

    private int Render(EventChunk chunk, PooledBufferWriter buffer, bool isNewFile)
    {
        if (_settings.Format == FileLineFormat.Msgpack)
        {
            var count = EventReader.CountAndValidate(chunk.Events);
            buffer.Write(chunk.Events.Span);
            return count;
        }

        Span<byte> tagBuffer = stackalloc byte[256];
        ReadOnlySpan<byte> tag = Encoding.UTF8.GetByteCount(chunk.Tag) <= tagBuffer.Length
            ? tagBuffer[..Encoding.UTF8.GetBytes(chunk.Tag, tagBuffer)]
            : Encoding.UTF8.GetBytes(chunk.Tag);
        var columnNames = _settings.CsvColumnNames && isNewFile;
        var reader = new EventReader(chunk.Events);
        var records = 0;
        while (reader.TryRead(out var view))
        {
            switch (_settings.Format)
            {
                case FileLineFormat.OutFile:
                    FluentLineFormats.WriteOutFileLine(buffer, tag, view, _settings.JsonFlags);
                    break;
                case FileLineFormat.Plain:
                    FluentLineFormats.WritePlainLine(buffer, view, _settings.JsonFlags);
                    break;
                case FileLineFormat.Csv:
                    FluentLineFormats.WriteCsvLine(buffer, view, _delimiter, columnNames);
                    columnNames = false;
                    break;
                case FileLineFormat.Ltsv:
                    FluentLineFormats.WriteLtsvLine(buffer, view, _delimiter, _labelDelimiter);
                    break;
                case FileLineFormat.Template:
                    FluentLineFormats.WriteTemplateLine(buffer, view, _template);
                    break;
            }

            records++;
        }

        return records;
    }
}
