namespace Gateway.Engine.RecordAccessor;

/// <summary>What one piece of a compiled pattern produces (Fluent Bit's FLB_RA_PARSER_* types).</summary>
internal enum RecordAccessorPartKind
{
    /// <summary>Fixed text copied as is.</summary>
    Literal,

    /// <summary>A record key with optional sub-keys / array indexes.</summary>
    Key,

    /// <summary>The whole tag.</summary>
    Tag,

    /// <summary>One dot-separated part of the tag.</summary>
    TagPart,

    /// <summary>A regex capture (<c>$0</c>..<c>$9</c>), filled only by callers that pass captures.</summary>
    RegexCapture,
}

/// <summary>One step below the root key: a map key (UTF-8) or an array index.</summary>
internal readonly struct RecordAccessorSubkey
{
    private RecordAccessorSubkey(byte[]? key, int index)
    {
        Key = key;
        Index = index;
    }

    /// <summary>UTF-8 key bytes, or null for an array index.</summary>
    public byte[]? Key { get; }

    public int Index { get; }

    public bool IsIndex => Key is null;

    public static RecordAccessorSubkey ForKey(string key) => new(System.Text.Encoding.UTF8.GetBytes(key), -1);

    public static RecordAccessorSubkey ForIndex(int index) => new(null, index);

    public override string ToString() => IsIndex ? $"[{Index}]" : $"['{System.Text.Encoding.UTF8.GetString(Key!)}']";
}

/// <summary>One compiled piece of a record accessor pattern.</summary>
internal sealed class RecordAccessorPart
{
    private RecordAccessorPart(RecordAccessorPartKind kind, string text, byte[] utf8, RecordAccessorSubkey[] subkeys, int number)
    {
        Kind = kind;
        Text = text;
        Utf8 = utf8;
        Subkeys = subkeys;
        Number = number;
    }

    public RecordAccessorPartKind Kind { get; }

    /// <summary>The literal text, or the root key name.</summary>
    public string Text { get; }

    /// <summary><see cref="Text"/> as UTF-8, compared against record keys without decoding them.</summary>
    public byte[] Utf8 { get; }

    public RecordAccessorSubkey[] Subkeys { get; }

    /// <summary>Tag part index or regex capture id.</summary>
    public int Number { get; }

    public static RecordAccessorPart Literal(string text) =>
        new(RecordAccessorPartKind.Literal, text, System.Text.Encoding.UTF8.GetBytes(text), [], 0);

    public static RecordAccessorPart Key(string name, RecordAccessorSubkey[] subkeys) =>
        new(RecordAccessorPartKind.Key, name, System.Text.Encoding.UTF8.GetBytes(name), subkeys, 0);

    public static RecordAccessorPart Tag() => new(RecordAccessorPartKind.Tag, string.Empty, [], [], 0);

    public static RecordAccessorPart TagPart(int index) => new(RecordAccessorPartKind.TagPart, string.Empty, [], [], index);

    public static RecordAccessorPart RegexCapture(int id) => new(RecordAccessorPartKind.RegexCapture, string.Empty, [], [], id);

    public override string ToString() => Kind switch
    {
        RecordAccessorPartKind.Literal => $"'{Text}'",
        RecordAccessorPartKind.Key => "$" + Text + string.Concat(Subkeys),
        RecordAccessorPartKind.Tag => "$TAG",
        RecordAccessorPartKind.TagPart => $"$TAG[{Number}]",
        _ => $"${Number}",
    };
}
