namespace Gateway.Shipper.Inputs.Systemd;

/// <summary>
/// The commit token of a systemd chunk: its place in the production order and the cursor of its last entry.
/// </summary>
public readonly record struct JournalCursorToken(long Sequence, string Cursor, int Bytes)
{
    public override string ToString() => $"#{Sequence} cursor {Cursor}";
}

/// <summary>
/// Moves the stored cursor forward only over acknowledged chunks: chunks may be acknowledged in any order, but the
/// cursor written is the one of the last chunk before which every chunk was acknowledged, so a restart re-reads
/// exactly the unacknowledged entries (none lost, none of the acknowledged ones repeated).
/// </summary>
internal sealed class JournalCursorTracker
{
    private readonly object _gate = new();
    private readonly JournalCursorStore? _store;
    private readonly SortedDictionary<long, (string Cursor, bool Acked)> _pending = new();
    private long _nextSequence;
    private long _unackedBytes;

    public JournalCursorTracker(JournalCursorStore? store)
    {
        _store = store;
        CommittedCursor = store?.Cursor;
    }

    /// <summary>Raised after an acknowledgement (outside the lock): room may have been freed.</summary>
    public event Action? Acknowledged;

    /// <summary>Bytes of chunks handed out and not acknowledged yet.</summary>
    public long UnackedBytes => Interlocked.Read(ref _unackedBytes);

    /// <summary>The cursor everything up to which was acknowledged (what the DB holds).</summary>
    public string? CommittedCursor { get; private set; }

    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Registers a chunk about to be handed out, returning its token.</summary>
    public JournalCursorToken Register(string cursor, int bytes)
    {
        lock (_gate)
        {
            Interlocked.Add(ref _unackedBytes, bytes);
            var token = new JournalCursorToken(_nextSequence++, cursor, bytes);
            _pending.Add(token.Sequence, (cursor, false));
            return token;
        }
    }

    /// <summary>Marks a chunk delivered and commits the cursor as far as the acknowledged prefix reaches.</summary>
    public void Acknowledge(JournalCursorToken token)
    {
        AcknowledgeLocked(token);
        Acknowledged?.Invoke();
    }

    private void AcknowledgeLocked(JournalCursorToken token)
    {
        lock (_gate)
        {
            if (!_pending.TryGetValue(token.Sequence, out var entry) || entry.Acked)
            {
                return;
            }

            Interlocked.Add(ref _unackedBytes, -token.Bytes);

            _pending[token.Sequence] = (entry.Cursor, true);
            string? commit = null;
            while (_pending.Count > 0)
            {
                var first = FirstKey();
                var head = _pending[first];
                if (!head.Acked)
                {
                    break;
                }

                commit = head.Cursor;
                _pending.Remove(first);
            }

            // An empty cursor (entries journalctl printed without one) does not move the stored position.
            if (!string.IsNullOrEmpty(commit))
            {
                _store?.Save(commit);
                CommittedCursor = commit;
            }
        }
    }

    private long FirstKey()
    {
        foreach (var key in _pending.Keys)
        {
            return key;
        }

        throw new InvalidOperationException("no pending chunks");
    }
}
