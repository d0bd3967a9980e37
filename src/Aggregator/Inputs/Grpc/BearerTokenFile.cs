using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Gateway.Aggregator.Inputs.Grpc;

/// <summary>
/// The accepted bearer tokens of an input's <c>auth_token_file</c>: one token per line, blank lines and
/// <c>#</c> comments ignored, so a rotation can list the old and the new token for a while. The file is re-read
/// when its modification time or length changes (checked once per call, i.e. per stream, not per batch): a
/// Kubernetes Secret update (an atomic symlink swap) takes effect without a restart. If the file becomes
/// unreadable the last tokens stay in force and an error is logged; an empty file accepts nothing.
/// </summary>
internal sealed class BearerTokenFile
{
    private readonly string _path;
    private readonly string _inputName;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private (DateTime Modified, long Length) _stamp;
    private byte[][] _tokens = [];

    public BearerTokenFile(string path, string inputName, ILogger logger)
    {
        _path = path;
        _inputName = inputName;
        _logger = logger;
        Refresh();
    }

    public int Count => Volatile.Read(ref _tokens).Length;

    /// <summary>True when <paramref name="token"/> is one of the file's tokens (compared in constant time).</summary>
    public bool Accepts(ReadOnlySpan<char> token)
    {
        Refresh();
        if (token.IsEmpty)
        {
            return false;
        }

        Span<byte> utf8 = token.Length <= 256 ? stackalloc byte[token.Length * 3] : new byte[Encoding.UTF8.GetMaxByteCount(token.Length)];
        var length = Encoding.UTF8.GetBytes(token, utf8);
        var presented = utf8[..length];
        var accepted = false;
        foreach (var candidate in Volatile.Read(ref _tokens))
        {
            // No early exit: how long the check takes must not tell which token (or how much of it) matched.
            accepted |= candidate.Length == presented.Length && CryptographicOperations.FixedTimeEquals(candidate, presented);
        }

        return accepted;
    }

    private void Refresh()
    {
        (DateTime, long) stamp;
        try
        {
            var info = new FileInfo(_path);
            stamp = (info.LastWriteTimeUtc, info.Exists ? info.Length : -1);
        }
        catch (IOException)
        {
            stamp = default;
        }

        if (stamp == _stamp)
        {
            return;
        }

        lock (_gate)
        {
            if (stamp == _stamp)
            {
                return;
            }

            try
            {
                var tokens = new List<byte[]>();
                foreach (var line in File.ReadAllLines(_path))
                {
                    var trimmed = line.Trim();
                    if (trimmed.Length > 0 && trimmed[0] != '#')
                    {
                        tokens.Add(Encoding.UTF8.GetBytes(trimmed));
                    }
                }

                Volatile.Write(ref _tokens, tokens.ToArray());
                _stamp = stamp;
                GrpcAppLog.TokensLoaded(_logger, _inputName, tokens.Count, _path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                GrpcAppLog.TokensUnreadable(_logger, ex, _inputName, _path, _tokens.Length);
            }
        }
    }
}
