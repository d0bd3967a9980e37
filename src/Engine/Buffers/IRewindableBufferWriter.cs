using System.Buffers;

namespace Gateway.Engine.Buffers;

/// <summary>
/// A buffer writer that can be cut back to an earlier length. Writers that usually get it right the first time
/// (the JSON writer drops repeated map keys, which are rare) write optimistically and rewind only when they must.
/// </summary>
internal interface IRewindableBufferWriter : IBufferWriter<byte>
{
    int WrittenCount { get; }

    /// <summary>Forgets everything after <paramref name="length"/> bytes.</summary>
    void Truncate(int length);
}
