using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;

namespace Gateway.Aggregator.Outputs.S3;

/// <summary>What became of an append.</summary>
internal enum S3AppendResult
{
    /// <summary>Written and fsync'd: the output owns the records now.</summary>
    Stored,

    /// <summary>store_dir_limit_size would be exceeded: nothing written.</summary>
    LimitReached,
}

/// <summary>
/// The S3 output's store_dir: <c>STORE_DIR/BUCKET/objects/NNNNNNNNNN/</c> per object, holding
/// <c>object.json</c> (tag, key, multipart upload id, uploaded parts with ETags — replaced atomically) and
/// <c>part-NNNNN.data</c> files of frames (<c>u32 length, u32 records, payload</c>). An append is one write plus an
/// fsync, so an acknowledged flush survives kill -9 and power loss; a frame torn by a kill is cut at the next
/// start (its flush was never acknowledged and the engine sends it again). <c>STORE_DIR/BUCKET/index</c> keeps
/// the next <c>$INDEX</c>. Objects found at startup are sealed: their parts are uploaded and the multipart upload
/// completed under the key chosen before the restart, so none is orphaned.
/// </summary>
internal sealed class S3Store : IDisposable
{
    private const int FrameHeaderBytes = 8;
    private const string ManifestName = "object.json";
    private readonly S3OutputSettings _settings;
    private readonly ILogger _logger;
    private readonly string _outputName;
    private readonly string _root;
    private readonly string _objectsDir;
    private readonly string _indexPath;
    private readonly Lock _gate = new();
    private readonly SortedDictionary<long, S3StoredObject> _objects = [];
    private readonly Dictionary<string, S3StoredObject> _openByTag = new(StringComparer.Ordinal);
    private long _nextObjectId = 1;
    private ulong _nextIndex;
    private long _storedBytes;

    public S3Store(S3OutputSettings settings, string outputName, ILogger logger)
    {
        _settings = settings;
        _outputName = outputName;
        _logger = logger;
        _root = Path.Combine(settings.StoreDirectory, settings.Bucket);
        _objectsDir = Path.Combine(_root, "objects");
        _indexPath = Path.Combine(_root, "index");
    }

    /// <summary>Bytes of part files not yet uploaded (what store_dir_limit_size bounds).</summary>
    public long StoredBytes
    {
        get
        {
            lock (_gate)
            {
                return _storedBytes;
            }
        }
    }

    public int ObjectCount
    {
        get
        {
            lock (_gate)
            {
                return _objects.Count;
            }
        }
    }

    /// <summary>Creates store_dir and loads what a previous run left (every recovered object sealed).</summary>
    /// <returns>The number of objects recovered.</returns>
    public int Open()
    {
        Directory.CreateDirectory(_objectsDir);
        lock (_gate)
        {
            if (File.Exists(_indexPath))
            {
                var text = File.ReadAllText(_indexPath).Trim();
                if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out _nextIndex))
                {
                    S3Log.IndexUnreadable(_logger, _outputName, _indexPath, text);
                }
            }

            var recovered = 0;
            foreach (var dir in Directory.GetDirectories(_objectsDir))
            {
                if (!long.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                {
                    continue;
                }

                _nextObjectId = Math.Max(_nextObjectId, id + 1);
                S3StoredObject? stored;
                try
                {
                    stored = Recover(dir, id);
                }
                catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
                {
                    // Manifests are replaced atomically, so this is outside damage: keep the data for a person to
                    // look at rather than guess, and say where it is.
                    S3Log.ObjectUnreadable(_logger, ex, _outputName, dir);
                    continue;
                }

                if (stored is null)
                {
                    Directory.Delete(dir, recursive: true);
                    continue;
                }

                _objects[id] = stored;
                recovered++;
            }

            return recovered;
        }
    }

    /// <summary>Appends one flush's payload to the tag's open object; fsync'd before it returns Stored.</summary>
    public S3AppendResult Append(string tag, long firstRecordSeconds, ReadOnlySpan<byte> payload, int records, DateTimeOffset now, out bool uploadReady)
    {
        uploadReady = false;
        var frame = payload.Length + FrameHeaderBytes;
        lock (_gate)
        {
            if (_settings.StoreDirectoryLimit > 0 && _storedBytes + frame > _settings.StoreDirectoryLimit)
            {
                return S3AppendResult.LimitReached;
            }

            if (!_openByTag.TryGetValue(tag, out var stored))
            {
                stored = CreateObject(tag, firstRecordSeconds, now);
                _openByTag[tag] = stored;
                _objects[stored.Id] = stored;
            }

            var part = stored.Parts.Count > 0 && !stored.Parts[^1].Sealed ? stored.Parts[^1] : null;
            if (part is null)
            {
                part = new S3StoredPart(stored.NextPartNumber++, Path.Combine(stored.Directory, PartFileName(stored.NextPartNumber - 1)));
                part.WriteHandle = File.OpenHandle(part.Path, FileMode.CreateNew, FileAccess.Write, FileShare.Read);
                stored.Parts.Add(part);
            }

            Span<byte> header = stackalloc byte[FrameHeaderBytes];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)payload.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)records);
            var handle = part.WriteHandle!;
            try
            {
                RandomAccess.Write(handle, header, part.FileLength);
                RandomAccess.Write(handle, payload, part.FileLength + FrameHeaderBytes);
                RandomAccess.FlushToDisk(handle);
            }
            catch
            {
                // A partial frame would end the part early at the next start: cut it now (best effort) and let the
                // engine retry the flush.
                TryTruncate(handle, part.FileLength);
                throw;
            }

            part.Frames.Add(new S3Frame(part.FileLength + FrameHeaderBytes, payload.Length));
            part.FileLength += frame;
            part.PayloadBytes += payload.Length;
            part.Records += records;
            stored.PayloadBytes += payload.Length;
            stored.Records += records;
            _storedBytes += frame;

            if (stored.PayloadBytes >= _settings.TotalFileSize)
            {
                SealObject(stored);
                uploadReady = true;
            }
            else if (!_settings.UsePutObject && part.PayloadBytes >= _settings.UploadChunkSize)
            {
                SealPart(part);
                uploadReady = true;
            }

            return S3AppendResult.Stored;
        }
    }

    /// <summary>Seals open objects whose upload_timeout has passed (or every open object); true when any was sealed.</summary>
    public bool SealDue(DateTimeOffset now, bool all = false)
    {
        lock (_gate)
        {
            List<S3StoredObject>? due = null;
            foreach (var stored in _openByTag.Values)
            {
                if (all || now - stored.StartedAt >= _settings.UploadTimeout)
                {
                    (due ??= []).Add(stored);
                }
            }

            if (due is null)
            {
                return false;
            }

            foreach (var stored in due)
            {
                SealObject(stored);
            }

            return true;
        }
    }

    /// <summary>The objects in the order they were started.</summary>
    public List<S3StoredObject> Snapshot()
    {
        lock (_gate)
        {
            return [.. _objects.Values];
        }
    }

    /// <summary>What the uploader may do with an object now: its sealed parts (in order) and whether the object is sealed.</summary>
    public (List<S3StoredPart> SealedParts, bool ObjectSealed) Work(S3StoredObject stored)
    {
        lock (_gate)
        {
            var parts = new List<S3StoredPart>(stored.Parts.Count);
            foreach (var part in stored.Parts)
            {
                if (!part.Sealed)
                {
                    break;
                }

                parts.Add(part);
            }

            return (parts, stored.Sealed);
        }
    }

    public void RecordUploadId(S3StoredObject stored, string uploadId)
    {
        lock (_gate)
        {
            stored.UploadId = uploadId;
            stored.CreatingUpload = false;
            WriteManifest(stored);
        }
    }

    /// <summary>Persisted before CreateMultipartUpload is sent (see <see cref="S3StoredObject.CreatingUpload"/>).</summary>
    public void MarkCreatingUpload(S3StoredObject stored)
    {
        lock (_gate)
        {
            stored.CreatingUpload = true;
            WriteManifest(stored);
        }
    }

    /// <summary>S3 has the part: remember its ETag (fsync'd) before the local copy goes.</summary>
    public void RecordPartUploaded(S3StoredObject stored, S3StoredPart part, string etag)
    {
        lock (_gate)
        {
            stored.UploadedParts.Add(new S3UploadedPart(part.Number, etag, part.PayloadBytes, part.Records));
            WriteManifest(stored);
            stored.Parts.Remove(part);
            DeletePart(part);
        }
    }

    /// <summary>The multipart upload is gone from S3 (aborted by someone or a lifecycle rule): start over with what is still local.</summary>
    public void ForgetUpload(S3StoredObject stored)
    {
        lock (_gate)
        {
            stored.UploadId = null;
            stored.UploadedParts.Clear();
            stored.Completing = false;
            WriteManifest(stored);
        }
    }

    public void MarkCompleting(S3StoredObject stored)
    {
        lock (_gate)
        {
            stored.Completing = true;
            WriteManifest(stored);
        }
    }

    /// <summary>The object is in S3: drop it from store_dir.</summary>
    public void Remove(S3StoredObject stored)
    {
        lock (_gate)
        {
            foreach (var part in stored.Parts)
            {
                DeletePart(part);
            }

            stored.Parts.Clear();
            _objects.Remove(stored.Id);
            if (_openByTag.TryGetValue(stored.Tag, out var open) && ReferenceEquals(open, stored))
            {
                _openByTag.Remove(stored.Tag);
            }

            Directory.Delete(stored.Directory, recursive: true);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            foreach (var stored in _objects.Values)
            {
                foreach (var part in stored.Parts)
                {
                    part.WriteHandle?.Dispose();
                    part.WriteHandle = null;
                }
            }
        }
    }

    internal static string PartFileName(int number) => "part-" + number.ToString("D5", CultureInfo.InvariantCulture) + ".data";

    private S3StoredObject CreateObject(string tag, long firstRecordSeconds, DateTimeOffset now)
    {
        var index = _nextIndex;
        if (_settings.KeyFormat.HasIndex)
        {
            // Persisted before the object exists, so an index is never handed out twice across a crash.
            _nextIndex++;
            WriteAtomically(_indexPath, System.Text.Encoding.ASCII.GetBytes(_nextIndex.ToString(CultureInfo.InvariantCulture)));
        }

        var key = _settings.KeyFormat.Render(tag, firstRecordSeconds, index, S3KeyFormat.RandomAlphanumerics(8));

        // Fluent Bit adds its "-object" suffix to PutObject keys only; a multipart object started in the same
        // second under a format without $UUID would overwrite the previous one. Both get it here.
        key = _settings.KeyFormat.WithObjectSuffix(key, S3KeyFormat.RandomAlphanumerics(8));
        var id = _nextObjectId++;
        var dir = Path.Combine(_objectsDir, id.ToString("D10", CultureInfo.InvariantCulture));
        Directory.CreateDirectory(dir);
        var stored = new S3StoredObject
        {
            Id = id,
            Directory = dir,
            Tag = tag,
            Key = key,
            StartedAt = now,
        };
        WriteManifest(stored);
        return stored;
    }

    private void SealPart(S3StoredPart part)
    {
        part.Sealed = true;
        part.WriteHandle?.Dispose();
        part.WriteHandle = null;
    }

    private void SealObject(S3StoredObject stored)
    {
        stored.Sealed = true;
        foreach (var part in stored.Parts)
        {
            SealPart(part);
        }

        if (_openByTag.TryGetValue(stored.Tag, out var open) && ReferenceEquals(open, stored))
        {
            _openByTag.Remove(stored.Tag);
        }
    }

    private void DeletePart(S3StoredPart part)
    {
        part.WriteHandle?.Dispose();
        part.WriteHandle = null;
        _storedBytes -= part.FileLength;
        File.Delete(part.Path);
    }

    /// <summary>Loads an object left by a previous run; null when it holds nothing worth keeping.</summary>
    private S3StoredObject? Recover(string dir, long id)
    {
        var manifestPath = Path.Combine(dir, ManifestName);
        if (!File.Exists(manifestPath))
        {
            // Killed between creating the directory and writing the manifest: no record was stored yet.
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(manifestPath));
        var root = document.RootElement;
        var stored = new S3StoredObject
        {
            Id = id,
            Directory = dir,
            Tag = root.GetProperty("tag").GetString()!,
            Key = root.GetProperty("key").GetString()!,
            StartedAt = DateTimeOffset.FromUnixTimeMilliseconds(root.GetProperty("started_ms").GetInt64()),
            UploadId = root.TryGetProperty("upload_id", out var uploadId) && uploadId.ValueKind == JsonValueKind.String ? uploadId.GetString() : null,
            Completing = root.TryGetProperty("completing", out var completing) && completing.GetBoolean(),
            CreatingUpload = root.TryGetProperty("creating_upload", out var creating) && creating.GetBoolean(),
            Sealed = true,
        };
        var nextPart = 1;
        foreach (var uploaded in root.GetProperty("parts").EnumerateArray())
        {
            var part = new S3UploadedPart(
                uploaded.GetProperty("number").GetInt32(),
                uploaded.GetProperty("etag").GetString()!,
                uploaded.GetProperty("bytes").GetInt64(),
                uploaded.GetProperty("records").GetInt64());
            stored.UploadedParts.Add(part);
            stored.PayloadBytes += part.PayloadBytes;
            stored.Records += part.Records;
            nextPart = Math.Max(nextPart, part.Number + 1);
        }

        var partFiles = Directory.GetFiles(dir, "part-*.data");
        Array.Sort(partFiles, StringComparer.Ordinal);
        foreach (var path in partFiles)
        {
            var name = Path.GetFileNameWithoutExtension(path);
            if (!int.TryParse(name.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                continue;
            }

            if (stored.UploadedParts.Exists(p => p.Number == number))
            {
                // Uploaded and recorded, killed before the local copy was deleted.
                File.Delete(path);
                continue;
            }

            var part = ScanPart(number, path);
            nextPart = Math.Max(nextPart, number + 1);
            if (part.Records == 0)
            {
                File.Delete(path);
                continue;
            }

            part.Sealed = true;
            stored.Parts.Add(part);
            stored.PayloadBytes += part.PayloadBytes;
            stored.Records += part.Records;
            _storedBytes += part.FileLength;
        }

        stored.NextPartNumber = nextPart;
        if (stored.Parts.Count == 0 && stored.UploadedParts.Count == 0 && stored.UploadId is null && !stored.CreatingUpload)
        {
            return null;
        }

        S3Log.ObjectRecovered(_logger, _outputName, stored.Key, stored.Records, stored.Parts.Count, stored.UploadedParts.Count, stored.UploadId ?? "-");
        return stored;
    }

    /// <summary>Reads a part's frames; a frame cut short by a kill is truncated away.</summary>
    private S3StoredPart ScanPart(int number, string path)
    {
        var part = new S3StoredPart(number, path);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite);
        var length = RandomAccess.GetLength(handle);
        Span<byte> header = stackalloc byte[FrameHeaderBytes];
        long offset = 0;
        while (offset + FrameHeaderBytes <= length)
        {
            if (RandomAccess.Read(handle, header, offset) != FrameHeaderBytes)
            {
                break;
            }

            var payloadLength = BinaryPrimitives.ReadUInt32LittleEndian(header);
            var records = BinaryPrimitives.ReadUInt32LittleEndian(header[4..]);
            if (payloadLength == 0 || offset + FrameHeaderBytes + payloadLength > length)
            {
                break;
            }

            part.Frames.Add(new S3Frame(offset + FrameHeaderBytes, (int)payloadLength));
            part.PayloadBytes += payloadLength;
            part.Records += records;
            offset += FrameHeaderBytes + payloadLength;
        }

        if (offset < length)
        {
            S3Log.TornFrameCut(_logger, _outputName, path, length - offset);
            RandomAccess.SetLength(handle, offset);
            RandomAccess.FlushToDisk(handle);
        }

        part.FileLength = offset;
        return part;
    }

    private void WriteManifest(S3StoredObject stored)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("tag", stored.Tag);
            json.WriteString("key", stored.Key);
            json.WriteNumber("started_ms", stored.StartedAt.ToUnixTimeMilliseconds());
            if (stored.UploadId is not null)
            {
                json.WriteString("upload_id", stored.UploadId);
            }

            json.WriteBoolean("completing", stored.Completing);
            json.WriteBoolean("creating_upload", stored.CreatingUpload);
            json.WriteStartArray("parts");
            foreach (var part in stored.UploadedParts)
            {
                json.WriteStartObject();
                json.WriteNumber("number", part.Number);
                json.WriteString("etag", part.ETag);
                json.WriteNumber("bytes", part.PayloadBytes);
                json.WriteNumber("records", part.Records);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        WriteAtomically(Path.Combine(stored.Directory, ManifestName), buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    }

    /// <summary>Temp file, fsync, rename: a reader sees the old or the new content, never a mix.</summary>
    private static void WriteAtomically(string path, ReadOnlySpan<byte> content)
    {
        var temp = path + ".tmp";
        using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.Write))
        {
            RandomAccess.Write(handle, content, 0);
            RandomAccess.FlushToDisk(handle);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static void TryTruncate(SafeFileHandle handle, long length)
    {
        try
        {
            RandomAccess.SetLength(handle, length);
        }
        catch (IOException)
        {
            // The next start cuts the torn frame anyway.
        }
    }
}
