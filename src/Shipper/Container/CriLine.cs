namespace Gateway.Shipper.Container;

/// <summary>
/// One CRI (containerd / CRI-O) log line, <c>&lt;time&gt; &lt;stream&gt; &lt;P|F&gt; &lt;log&gt;</c>, split the way
/// Fluent Bit's built-in <c>cri</c> parser regex <c>^(?&lt;time&gt;.+?) (?&lt;stream&gt;stdout|stderr) (?&lt;_p&gt;F|P) (?&lt;log&gt;.*)$</c>
/// does: the time is the shortest prefix followed by a stream and a tag, so a log text may contain anything.
/// </summary>
internal readonly ref struct CriLine
{
    public CriLine(ReadOnlySpan<byte> time, ReadOnlySpan<byte> stream, bool partial, ReadOnlySpan<byte> log)
    {
        Time = time;
        Stream = stream;
        Partial = partial;
        Log = log;
    }

    public ReadOnlySpan<byte> Time { get; }

    public ReadOnlySpan<byte> Stream { get; }

    /// <summary>True for <c>P</c> (more follows), false for <c>F</c> (full / final part).</summary>
    public bool Partial { get; }

    public ReadOnlySpan<byte> Log { get; }

    public static bool TryParse(ReadOnlySpan<byte> line, out CriLine cri)
    {
        // Lazy ".+?": try every space from the left; the first that is followed by "stdout|stderr F|P " wins.
        for (var i = 1; i + 10 <= line.Length; i++)
        {
            if (line[i] != ' ')
            {
                continue;
            }

            var rest = line[(i + 1)..];
            if (!(rest.StartsWith("stdout "u8) || rest.StartsWith("stderr "u8)))
            {
                continue;
            }

            var tag = rest[7];
            if ((tag != 'F' && tag != 'P') || rest[8] != ' ')
            {
                continue;
            }

            cri = new CriLine(line[..i], rest[..6], tag == 'P', rest[9..]);
            return true;
        }

        cri = default;
        return false;
    }
}
