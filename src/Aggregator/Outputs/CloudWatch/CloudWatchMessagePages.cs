using System.Buffers;

namespace Gateway.Aggregator.Outputs.CloudWatch;

/// <summary>
/// The output's supply of message pages. Pages are small-object-heap arrays (16 KiB, under the 85,000-byte
/// large-object threshold) that every plan shares: a held chunk costs its messages rounded up to a page, not to
/// the next power of two, and a returned page is reused instead of becoming large-object garbage that only a
/// full GC frees. Keeps at most <c>maxPages</c> free pages (what the held-bytes cap can have in use).
/// </summary>
internal sealed class CloudWatchPagePool(int maxPages)
{
    public const int PageShift = 14;
    public const int PageBytes = 1 << PageShift; // 16 KiB

    private readonly Lock _gate = new();
    private readonly byte[][] _free = new byte[Math.Max(1, maxPages)][];
    private int _count;

    public byte[] Rent()
    {
        lock (_gate)
        {
            if (_count > 0)
            {
                var page = _free[--_count];
                _free[_count] = null!;
                return page;
            }
        }

        return new byte[PageBytes];
    }

    public void Return(byte[] page)
    {
        lock (_gate)
        {
            if (_count < _free.Length)
            {
                _free[_count++] = page;
            }
        }
    }
}

/// <summary>
/// A plan's formatted messages, already escaped as the content of a JSON string, in pages from a
/// <see cref="CloudWatchPagePool"/>. Messages are laid end to end across page boundaries, so a message is an
/// (offset, length) in one address space. Because they are stored in their final form, a request's body is
/// the stored bytes plus a few framing bytes per event and can be streamed to the network (twice: signed,
/// then sent) without being built. Written by one flush, then only read.
/// </summary>
internal sealed class CloudWatchMessagePages : IDisposable
{
    private const int PageShift = CloudWatchPagePool.PageShift;
    private const int PageMask = CloudWatchPagePool.PageBytes - 1;

    private readonly CloudWatchPagePool _pool;
    private readonly List<byte[]> _pages = [];
    private int _written;

    public CloudWatchMessagePages(CloudWatchPagePool pool) => _pool = pool;

    /// <summary>Bytes stored.</summary>
    public int WrittenCount => _written;

    /// <summary>Memory held: whole pages.</summary>
    public long PageBytes => (long)_pages.Count * CloudWatchPagePool.PageBytes;

    /// <summary>Appends bytes as they are.</summary>
    public void Write(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var within = _written % CloudWatchPagePool.PageBytes;
            if (within == 0 && _written / CloudWatchPagePool.PageBytes == _pages.Count)
            {
                _pages.Add(_pool.Rent());
            }

            var page = _pages[_written / CloudWatchPagePool.PageBytes];
            var n = Math.Min(bytes.Length, CloudWatchPagePool.PageBytes - within);
            bytes[..n].CopyTo(page.AsSpan(within));
            _written += n;
            bytes = bytes[n..];
        }
    }

    /// <summary>
    /// Appends ASCII JSON text escaped as a JSON string's content: only <c>"</c> and <c>\</c> need it (JSON text
    /// has no raw control characters, and with escape_unicode no bytes over 0x7F). Per record, so it escapes
    /// straight into the current page when the worst case (every byte doubled) fits, as it mostly does.
    /// </summary>
    public void WriteEscapedAsciiJson(ReadOnlySpan<byte> json)
    {
        var worst = json.Length * 2;
        var free = FreeSpanOfCurrentPage();
        if (free.Length >= worst)
        {
            _written += EscapeAsciiJson(json, free);
            return;
        }

        // Near the end of a page: escape into a scratch, then copy across the page boundary.
        var scratch = ArrayPool<byte>.Shared.Rent(worst);
        try
        {
            Write(scratch.AsSpan(0, EscapeAsciiJson(json, scratch)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// Escapes <c>"</c> and <c>\</c>; <paramref name="destination"/> holds twice the text. Returns bytes written.
    /// A plain byte loop: in JSON text quotes come every few bytes, too often for a vectorized search to pay for its
    /// calls (2.2× faster than the IndexOfAny loop it replaced, <c>CloudWatchMessageBenchmarks</c>).
    /// </summary>
    internal static int EscapeAsciiJson(ReadOnlySpan<byte> json, Span<byte> destination)
    {
        var written = 0;
        foreach (var b in json)
        {
            if (b == (byte)'"' || b == (byte)'\\')
            {
                destination[written++] = (byte)'\\';
            }

            destination[written++] = b;
        }

        return written;
    }

    private Span<byte> FreeSpanOfCurrentPage()
    {
        var page = _written >> PageShift;
        if (page == _pages.Count)
        {
            _pages.Add(_pool.Rent());
        }

        return _pages[page].AsSpan(_written & PageMask);
    }

    /// <summary>Copies <paramref name="destination"/>.Length stored bytes starting at <paramref name="offset"/>.</summary>
    public void CopyTo(int offset, Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            var within = offset % CloudWatchPagePool.PageBytes;
            var n = Math.Min(destination.Length, CloudWatchPagePool.PageBytes - within);
            _pages[offset / CloudWatchPagePool.PageBytes].AsSpan(within, n).CopyTo(destination);
            offset += n;
            destination = destination[n..];
        }
    }

    /// <summary>Adds the stored bytes to <paramref name="hash"/> (whole pages are multiples of 4 bytes, so the
    /// result is the same as hashing them as one span).</summary>
    public void AddTo(ref HashCode hash)
    {
        for (var i = 0; i < _pages.Count; i++)
        {
            var length = Math.Min(CloudWatchPagePool.PageBytes, _written - (i * CloudWatchPagePool.PageBytes));
            hash.AddBytes(_pages[i].AsSpan(0, length));
        }
    }

    public void Dispose()
    {
        foreach (var page in _pages)
        {
            _pool.Return(page);
        }

        _pages.Clear();
        _written = 0;
    }
}

/// <summary>
/// An <see cref="IBufferWriter{T}"/> onto <see cref="CloudWatchMessagePages"/> for writers that need contiguous
/// spans (the general JSON escaper): they write into a staging array, and each Advance copies into the pages.
/// </summary>
internal sealed class CloudWatchPagesWriter(CloudWatchMessagePages pages) : IBufferWriter<byte>
{
    private byte[] _staging = new byte[256];

    public void Advance(int count) => pages.Write(_staging.AsSpan(0, count));

    public Memory<byte> GetMemory(int sizeHint = 0) => Stage(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => Stage(sizeHint).Span;

    private Memory<byte> Stage(int sizeHint)
    {
        if (_staging.Length < sizeHint)
        {
            _staging = new byte[Math.Max(sizeHint, _staging.Length * 2)];
        }

        return _staging;
    }
}
