using System.Buffers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Gateway.Engine.Records;
using Gateway.Protos.Forward;
using MessagePack;
using Microsoft.Extensions.Logging;

namespace Gateway.Engine.Forward;

/// <summary>
/// A Fluent Forward client shared by the aggregator's forward output and the shipper. It keeps one connection
/// (TCP, optionally TLS and the secure-forward handshake), sends chunks as PackedForward messages and, with acks,
/// keeps every chunk until the server acknowledges its id: a bounded window limits how many are in flight, a
/// lost connection is re-established with exponential backoff and every unacknowledged chunk is written again.
/// Each <see cref="SendAsync"/> completes when its chunk is acknowledged (or written, without acks), or with
/// <see cref="ForwardSendStatus.Retry"/> when that cannot be confirmed in time.
/// </summary>
public sealed class ForwardClient : IAsyncDisposable
{
    private readonly ForwardClientOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _window;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _stateLock = new();
    private readonly Dictionary<string, PendingChunk> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private ForwardConnection? _connection;
    private Task _reconnectLoop = Task.CompletedTask;
    private int _endpointIndex;
    private long _generation;
    private long _sequence;
    private readonly ReconnectBackoff _backoff;
    private readonly ForwardClientMetrics _metrics;

    // Round-robin: one single-endpoint client ("lane") per endpoint, each with its own connection, acks and
    // backoff; null in failover mode.
    private readonly ForwardClient[]? _lanes;
    private int _nextLane = -1;
    private bool _disposed;

    public ForwardClient(ForwardClientOptions options, ILogger logger, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problem = options.Validate();
        if (problem is not null)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        _options = options;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _window = new SemaphoreSlim(options.MaxInFlightChunks, options.MaxInFlightChunks);
        _backoff = new ReconnectBackoff(options.ReconnectBaseDelay, options.ReconnectMaxDelay, _time);
        _metrics = new ForwardClientMetrics(options.Name);
        if (options.Balance == ForwardBalance.RoundRobin)
        {
            _lanes = new ForwardClient[options.Endpoints.Count];
            for (var i = 0; i < _lanes.Length; i++)
            {
                _lanes[i] = new ForwardClient(options.ForSingleEndpoint(options.Endpoints[i]), logger, timeProvider);
            }
        }
    }

    /// <summary>
    /// Whether this client is worth trying now: it has a live connection, or its reconnect backoff allows an attempt.
    /// A round-robin client skips lanes that are not (they are down and backing off).
    /// </summary>
    internal bool IsAvailable
    {
        get
        {
            if (Volatile.Read(ref _connection) is { IsBroken: false })
            {
                return true;
            }

            // Read without the connect lock: a stale answer costs at most one fast-failing attempt or one skip.
            return _backoff.MayAttempt;
        }
    }

    /// <summary>Chunks written but not yet acknowledged.</summary>
    public int PendingCount
    {
        get
        {
            if (_lanes is not null)
            {
                var total = 0;
                foreach (var lane in _lanes)
                {
                    total += lane.PendingCount;
                }

                return total;
            }

            lock (_stateLock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>How many connections have been opened so far (including ones whose handshake then failed).</summary>
    public long ConnectionCount
    {
        get
        {
            if (_lanes is null)
            {
                return Interlocked.Read(ref _generation);
            }

            long total = 0;
            foreach (var lane in _lanes)
            {
                total += lane.ConnectionCount;
            }

            return total;
        }
    }

    /// <summary>
    /// Sends one chunk (its tag, events and, when set, node name). Uncompressed, the events are written from the
    /// chunk's memory (not copied), which must therefore stay unchanged until the task completes; it may be reused as
    /// soon as the task completes.
    /// </summary>
    public async Task<ForwardSendResult> SendAsync(EventChunk chunk, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(chunk);
        ObjectDisposedException.ThrowIf(_disposed, this);
        await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        _metrics.EnteredWindow();
        if (_lanes is not null)
        {
            try
            {
                return await SendRoundRobinAsync(_lanes, chunk, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _metrics.LeftWindow();
                _window.Release();
            }
        }

        PendingChunk? pending = null;
        try
        {
            pending = PendingChunk.Encode(chunk, _options, Interlocked.Increment(ref _sequence));
            if (!_options.RequireAck)
            {
                var failure = await TryWriteAsync(pending, cancellationToken).ConfigureAwait(false);
                return failure is null ? ForwardSendResult.Delivered : ForwardSendResult.Retry(failure);
            }

            lock (_stateLock)
            {
                _pending.Add(pending.Id, pending);
            }

            var writeFailure = await TryWriteAsync(pending, cancellationToken).ConfigureAwait(false);
            if (writeFailure is not null && !pending.Completion.Task.IsCompleted)
            {
                // Never reached a server: hand it back now rather than hold the flush for the whole ack timeout.
                // (Chunks that were written and then lost with their connection are resent by the reconnect loop.)
                return ForwardSendResult.Retry(writeFailure);
            }

            try
            {
                return await pending.Completion.Task.WaitAsync(_options.AckTimeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                ForwardClientLog.AckTimeout(_logger, pending.Id, _options.AckTimeout);
                _metrics.AckTimeout();
                return ForwardSendResult.Retry($"no ack within {_options.AckTimeout}");
            }
        }
        finally
        {
            if (pending is not null)
            {
                lock (_stateLock)
                {
                    _pending.Remove(pending.Id);
                }

                pending.Release();

                // A resend may still be writing the chunk's events (they are not copied): the caller may reuse them
                // only when no write reads them. Writes time out after AckTimeout, so this wait is bounded.
                await pending.WhenReleased.ConfigureAwait(false);
            }

            _metrics.LeftWindow();
            _window.Release();
        }
    }

    /// <summary>
    /// Gives the chunk to the next lane in turn that is available; when that lane cannot deliver it (not connected,
    /// connection lost before the ack, ack timeout) the chunk goes to the following lanes, each tried once. The
    /// window of this client bounds the chunks in flight over all lanes together.
    /// </summary>
    private async Task<ForwardSendResult> SendRoundRobinAsync(ForwardClient[] lanes, EventChunk chunk, CancellationToken cancellationToken)
    {
        var start = (int)((uint)Interlocked.Increment(ref _nextLane) % (uint)lanes.Length);
        ForwardSendResult? last = null;

        // First pass: available lanes only. Second pass: the rest, in case every lane is backing off (a lane that
        // is still backing off answers Retry at once).
        for (var pass = 0; pass < 2; pass++)
        {
            for (var offset = 0; offset < lanes.Length; offset++)
            {
                var lane = lanes[(start + offset) % lanes.Length];
                if (lane.IsAvailable != (pass == 0))
                {
                    continue;
                }

                var result = await lane.SendAsync(chunk, cancellationToken).ConfigureAwait(false);
                if (result.Status == ForwardSendStatus.Delivered)
                {
                    return result;
                }

                last = result;
            }
        }

        return last ?? ForwardSendResult.Retry("no endpoint available");
    }

    public async ValueTask DisposeAsync()
    {
        if (_lanes is not null)
        {
            foreach (var lane in _lanes)
            {
                await lane.DisposeAsync().ConfigureAwait(false);
            }
        }

        ForwardConnection? connection;
        PendingChunk[] pending;
        lock (_stateLock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            connection = _connection;
            pending = [.. _pending.Values];
        }

        await _shutdown.CancelAsync().ConfigureAwait(false);
        connection?.Break("client shut down");
        foreach (var chunk in pending)
        {
            chunk.Completion.TrySetResult(ForwardSendResult.Retry("client shut down"));
        }

        try
        {
            await _reconnectLoop.ConfigureAwait(false);
            if (connection?.AckReader is { } reader)
            {
                await reader.ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // Expected on shutdown.
        }
    }

    /// <summary>Writes the chunk on the current connection (connecting first if needed); returns why not, or null.</summary>
    private async Task<string?> TryWriteAsync(PendingChunk chunk, CancellationToken cancellationToken)
    {
        var (connection, failure) = await GetConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (connection is null)
        {
            return failure;
        }

        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await WriteLockedAsync(connection, chunk).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Caller holds the write lock.</summary>
    private async Task<string?> WriteLockedAsync(ForwardConnection connection, PendingChunk chunk)
    {
        if (connection.IsBroken)
        {
            return "connection lost: " + connection.BrokenReason;
        }

        if (chunk.SentGeneration == connection.Generation)
        {
            return null; // a resend after connecting already wrote it
        }

        if (!chunk.TryAcquire())
        {
            return null; // the sender is done with it
        }

        try
        {
            // A stalled peer must not hold the write lock forever.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(connection.Closed);
            timeout.CancelAfter(_options.AckTimeout);
            await chunk.WriteToAsync(connection.Stream, timeout.Token).ConfigureAwait(false);
            await connection.Stream.FlushAsync(timeout.Token).ConfigureAwait(false);
            chunk.SentGeneration = connection.Generation;
            _metrics.Written();
            return null;
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException)
        {
            var reason = ex is OperationCanceledException ? "write timed out or connection closed" : ex.Message;
            if (connection.Break(reason))
            {
                ForwardClientLog.ConnectionLost(_logger, connection.Endpoint.ToString(), PendingCount, reason);
            }

            return "write failed: " + reason;
        }
        finally
        {
            chunk.Release();
        }
    }

    private async Task<(ForwardConnection? Connection, string? Failure)> GetConnectionAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _connection);
        if (current is { IsBroken: false })
        {
            return (current, null);
        }

        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = _connection;
            if (current is { IsBroken: false })
            {
                return (current, null);
            }

            if (_shutdown.IsCancellationRequested)
            {
                return (null, "client shut down");
            }

            if (!_backoff.MayAttempt)
            {
                return (null, $"not connected; next attempt in {_backoff.Remaining.TotalSeconds:0.#}s");
            }

            string? lastFailure = null;
            for (var attempt = 0; attempt < _options.Endpoints.Count; attempt++)
            {
                var index = (_endpointIndex + attempt) % _options.Endpoints.Count;
                var endpoint = _options.Endpoints[index];
                ForwardConnection connection;
                try
                {
                    connection = await ConnectAsync(endpoint, cancellationToken).ConfigureAwait(false);
                }
                catch (ForwardHandshakeException ex)
                {
                    ForwardClientLog.HandshakeFailed(_logger, endpoint.ToString(), ex.Message);
                    _metrics.ConnectFailed();
                    lastFailure = ex.Message;
                    continue;
                }
                catch (Exception ex) when (ex is IOException or SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
                {
                    ForwardClientLog.ConnectFailed(_logger, endpoint.ToString(), ex.Message);
                    _metrics.ConnectFailed();
                    lastFailure = $"cannot connect to {endpoint}: {ex.Message}";
                    continue;
                }

                _endpointIndex = index;
                _backoff.RecordSuccess();
                Volatile.Write(ref _connection, connection);
                ForwardClientLog.Connected(_logger, endpoint.ToString());
                _metrics.Connected();
                connection.AckReader = Task.Run(() => ReadAcksAsync(connection), CancellationToken.None);
                await ResendPendingAsync(connection).ConfigureAwait(false);
                return (connection, null);
            }

            _backoff.RecordFailedRound();
            return (null, lastFailure);
        }
        finally
        {
            _connectLock.Release();
        }
    }

    private async Task<ForwardConnection> ConnectAsync(ForwardEndpoint endpoint, CancellationToken cancellationToken)
    {
        var tcp = new TcpClient { NoDelay = true };
        try
        {
            using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _shutdown.Token))
            {
                connectTimeout.CancelAfter(_options.ConnectTimeout);
                await tcp.ConnectAsync(endpoint.Host, endpoint.Port, connectTimeout.Token).ConfigureAwait(false);
                Stream stream = tcp.GetStream();
                if (_options.Tls)
                {
                    stream = await AuthenticateTlsAsync(stream, endpoint, connectTimeout.Token).ConfigureAwait(false);
                }

                var connection = new ForwardConnection(tcp, stream, endpoint, Interlocked.Increment(ref _generation));
                if (_options.SharedKey is not null)
                {
                    try
                    {
                        await ForwardClientHandshake.RunAsync(connection, _options, connectTimeout.Token).ConfigureAwait(false);
                    }
                    catch
                    {
                        connection.Break("handshake failed");
                        connection.Reader.Dispose();
                        throw;
                    }
                }

                return connection;
            }
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    private async Task<Stream> AuthenticateTlsAsync(Stream inner, ForwardEndpoint endpoint, CancellationToken cancellationToken)
    {
        var serverName = _options.TlsServerName ?? endpoint.Host;
        X509Certificate2Collection? trusted = null;
        if (_options.TlsCaFile is not null)
        {
            trusted = [];
            trusted.ImportFromPemFile(_options.TlsCaFile);
        }

        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        var authentication = new SslClientAuthenticationOptions
        {
            TargetHost = serverName,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                ValidateServerCertificate(certificate, chain, errors, trusted),
        };
        try
        {
            await ssl.AuthenticateAsClientAsync(authentication, cancellationToken).ConfigureAwait(false);
        }
        catch (System.Security.Authentication.AuthenticationException ex)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"TLS handshake failed: {ex.Message}", ex);
        }

        return ssl;
    }

    /// <summary><c>tls.verify off</c> accepts anything; with <c>tls.ca_file</c> the chain must end in one of its certificates.</summary>
    private bool ValidateServerCertificate(X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors, X509Certificate2Collection? trusted)
    {
        if (!_options.TlsVerify)
        {
            return true;
        }

        if (trusted is null || certificate is null)
        {
            return errors == SslPolicyErrors.None;
        }

        if ((errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(trusted);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    /// <summary>
    /// Writes every pending chunk not yet written on this connection, oldest first — including chunks whose first
    /// write found no connection. A sender that then tries its own write sees the generation and skips it.
    /// </summary>
    private async Task ResendPendingAsync(ForwardConnection connection)
    {
        PendingChunk[] toSend;
        lock (_stateLock)
        {
            toSend = [.. _pending.Values];
        }

        if (toSend.Length == 0)
        {
            return;
        }

        Array.Sort(toSend, static (a, b) => a.Sequence.CompareTo(b.Sequence));
        await _writeLock.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        var resent = 0;
        try
        {
            foreach (var chunk in toSend)
            {
                if (chunk.SentGeneration == connection.Generation)
                {
                    continue;
                }

                if (await WriteLockedAsync(connection, chunk).ConfigureAwait(false) is not null)
                {
                    return;
                }

                resent++;
            }
        }
        finally
        {
            _writeLock.Release();
        }

        if (resent > 0)
        {
            ForwardClientLog.Resent(_logger, resent, connection.Endpoint.ToString());
            _metrics.Resent(resent);
        }
    }

    /// <summary>Reads <c>{"ack": id}</c> messages until the connection ends, then schedules a reconnect if chunks wait.</summary>
    private async Task ReadAcksAsync(ForwardConnection connection)
    {
        var reason = "server closed the connection";
        try
        {
            while (true)
            {
                var message = await connection.Reader.ReadAsync(connection.Closed).ConfigureAwait(false);
                if (message is null)
                {
                    break;
                }

                HandleAck(connection, message.Value);
            }
        }
        catch (OperationCanceledException)
        {
            reason = connection.IsBroken ? connection.BrokenReason : "closed";
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or MessagePackSerializationException or EndOfStreamException)
        {
            reason = ex.Message;
        }

        if (connection.Break(reason) && !_shutdown.IsCancellationRequested)
        {
            ForwardClientLog.ConnectionLost(_logger, connection.Endpoint.ToString(), PendingCount, reason);
        }

        connection.Reader.Dispose();
        if (_options.GiveBackPendingOnDisconnect)
        {
            GiveBackWrittenOn(connection);
        }
        else if (PendingCount > 0)
        {
            StartReconnectLoop();
        }
    }

    /// <summary>Completes (as Retry) the chunks written on a lost connection, so a balancer resends them elsewhere.</summary>
    private void GiveBackWrittenOn(ForwardConnection connection)
    {
        PendingChunk[] lost;
        lock (_stateLock)
        {
            lost = [.. _pending.Values];
        }

        var reason = $"connection to {connection.Endpoint} lost before the ack";
        foreach (var chunk in lost)
        {
            if (chunk.SentGeneration == connection.Generation)
            {
                chunk.Completion.TrySetResult(ForwardSendResult.Retry(reason));
            }
        }
    }

    private void HandleAck(ForwardConnection connection, ReadOnlySequence<byte> message)
    {
        if (ForwardAck.TryRead(message, out var chunkId, out _, out var error) != ForwardReadStatus.Ok || chunkId is null)
        {
            ForwardClientLog.BadServerMessage(_logger, connection.Endpoint.ToString(), error ?? "not an ack");
            return;
        }

        PendingChunk? chunk;
        lock (_stateLock)
        {
            _pending.TryGetValue(chunkId, out chunk);
        }

        if (chunk is null)
        {
            ForwardClientLog.UnknownAck(_logger, chunkId);
            return;
        }

        if (chunk.Completion.TrySetResult(ForwardSendResult.Delivered))
        {
            _metrics.Acked();
        }
    }

    /// <summary>One background loop at a time reconnects (with backoff) while acknowledged-pending chunks wait.</summary>
    private void StartReconnectLoop()
    {
        lock (_stateLock)
        {
            if (_disposed || !_reconnectLoop.IsCompleted)
            {
                return;
            }

            _reconnectLoop = Task.Run(ReconnectLoopAsync, CancellationToken.None);
        }
    }

    private async Task ReconnectLoopAsync()
    {
        var token = _shutdown.Token;
        while (!token.IsCancellationRequested && PendingCount > 0)
        {
            (ForwardConnection? Connection, string? Failure) result;
            try
            {
                result = await GetConnectionAsync(token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            if (result.Connection is not null)
            {
                return;
            }

            TimeSpan delay;
            await _connectLock.WaitAsync(token).ConfigureAwait(false);
            try
            {
                delay = _backoff.Remaining;
            }
            finally
            {
                _connectLock.Release();
            }

            if (delay < TimeSpan.FromMilliseconds(10))
            {
                delay = TimeSpan.FromMilliseconds(10);
            }

            ForwardClientLog.Backoff(_logger, delay);
            try
            {
                await Task.Delay(delay, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
