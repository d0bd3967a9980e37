using System.Buffers;

namespace Gateway.Engine.Buffers;

/// <summary>
/// The pool for chunk-sized buffers: filter outputs (<see cref="PooledBufferWriter"/>), the buffer's chunk bytes
/// and chunks read back from disk. These are 100 KB–2 MB arrays, hundreds of them up at once (the buffer's memory
/// budget, or chunks waiting on a batching output). <see cref="ArrayPool{T}.Shared"/> keeps only a few dozen per
/// size, so the rest were dropped on return and allocated anew — large-object-heap garbage that only a full GC
/// frees, which let the heap grow to about twice what was live. This one keeps as many as were in use at once (what
/// the memory budgets allow), so steady traffic allocates none. Arrays are powers of two like the shared pool's, so
/// an array from either pool may be returned to the other.
/// </summary>
internal static class ChunkBufferPool
{
    /// <summary>Fluent Bit's largest chunk is ~2 MB; 4 MiB arrays hold that with its filter growth.</summary>
    private const int MaxPooledArrayBytes = 4 * 1024 * 1024;

    /// <summary>256 MB default memory budget / ~128 KB chunks: enough that a full budget's chunks come back.</summary>
    private const int MaxArraysPerSize = 2048;

    public static ArrayPool<byte> Shared { get; } = ArrayPool<byte>.Create(MaxPooledArrayBytes, MaxArraysPerSize);
}
