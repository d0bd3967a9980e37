using Gateway.Engine.Json;

namespace Gateway.Engine.RecordAccessor;

/// <summary>
/// Where a value found by a record accessor sits inside the record's msgpack bytes: no copy, no decode beyond its
/// header. Valid for as long as the record bytes it was taken from.
/// </summary>
internal readonly struct MsgpackValueRef
{
    private readonly MsgpackToken _token;

    public MsgpackValueRef(MsgpackToken token, int start, int end)
    {
        _token = token;
        Start = start;
        End = end;
    }

    public MsgpackKind Kind => _token.Kind;

    /// <summary>Offset of the value's first byte in the record.</summary>
    public int Start { get; }

    /// <summary>Offset just past the value.</summary>
    public int End { get; }

    public MsgpackToken Token => _token;

    public bool IsString => _token.Kind == MsgpackKind.String;

    /// <summary>The value's whole encoding (header included).</summary>
    public ReadOnlySpan<byte> Encoded(ReadOnlySpan<byte> record) => record[Start..End];

    /// <summary>String/binary/extension payload bytes; empty for other kinds.</summary>
    public ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> record) =>
        _token.Kind is MsgpackKind.String or MsgpackKind.Binary or MsgpackKind.Extension
            ? record.Slice(_token.Offset, _token.Length)
            : default;
}
