using System.Buffers.Binary;

namespace Gateway.Engine.Records;

/// <summary>
/// Fluent's EventTime: seconds and nanoseconds since the Unix epoch. On the wire it is msgpack ext type 0 with
/// 8 bytes payload (big-endian uint32 seconds, uint32 nanoseconds).
/// </summary>
public readonly record struct EventTime(uint Seconds, uint Nanoseconds) : IComparable<EventTime>
{
    public const sbyte ExtType = 0;

    public static EventTime FromUnixNanoseconds(long nanos) =>
        new((uint)(nanos / 1_000_000_000L), (uint)(nanos % 1_000_000_000L));

    public static EventTime FromDouble(double seconds)
    {
        var whole = Math.Floor(seconds);
        var nanos = (uint)Math.Round((seconds - whole) * 1_000_000_000d);
        if (nanos >= 1_000_000_000u)
        {
            return new EventTime((uint)whole + 1, 0);
        }

        return new EventTime((uint)whole, nanos);
    }

    public static EventTime FromDateTimeOffset(DateTimeOffset t)
    {
        var ticks = t.UtcTicks - DateTime.UnixEpoch.Ticks;
        return FromUnixNanoseconds(ticks * 100);
    }

    public static EventTime Now(TimeProvider? clock = null) =>
        FromDateTimeOffset((clock ?? TimeProvider.System).GetUtcNow());

    public long ToUnixNanoseconds() => (Seconds * 1_000_000_000L) + Nanoseconds;

    public long ToUnixMilliseconds() => (Seconds * 1000L) + (Nanoseconds / 1_000_000);

    public double ToDouble() => Seconds + (Nanoseconds / 1_000_000_000d);

    public DateTimeOffset ToDateTimeOffset() =>
        DateTimeOffset.UnixEpoch.AddTicks((Seconds * TimeSpan.TicksPerSecond) + (Nanoseconds / 100));

    /// <summary>Writes the 8-byte ext payload.</summary>
    public void WritePayload(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, Seconds);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], Nanoseconds);
    }

    public static EventTime ReadPayload(ReadOnlySpan<byte> payload) =>
        new(BinaryPrimitives.ReadUInt32BigEndian(payload), BinaryPrimitives.ReadUInt32BigEndian(payload[4..]));

    public int CompareTo(EventTime other)
    {
        var c = Seconds.CompareTo(other.Seconds);
        return c != 0 ? c : Nanoseconds.CompareTo(other.Nanoseconds);
    }
}
