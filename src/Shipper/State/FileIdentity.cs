using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Gateway.Shipper.State;

/// <summary>
/// What a followed file *is*, independent of its name: device and inode, as Fluent Bit's tail keys its
/// database. A rename keeps the identity; a create-after-rename gets a new one.
/// </summary>
public readonly record struct FileIdentity(ulong Device, ulong Inode)
{
    public override string ToString() => $"dev={Device} ino={Inode}";
}

/// <summary>The parts of <c>stat</c> the tail input needs.</summary>
internal readonly record struct FileStatus(FileIdentity Identity, long Size, uint LinkCount, bool IsRegularFile);

/// <summary>
/// <c>statx(2)</c> through <see cref="LibraryImportAttribute"/> (NativeAOT-friendly). statx is used instead of
/// stat/fstat because its struct layout is the same on every architecture, and glibc has exported it since 2.28.
/// </summary>
internal static partial class NativeFileStatus
{
    private const int AtFdCwd = -100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxBufferSize = 256;
    private const ushort FileTypeMask = 0xF000;
    private const ushort RegularFile = 0x8000;

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, ref byte buffer);

    /// <summary>Stats a path (following symlinks, as Fluent Bit's scan does). False when it does not exist.</summary>
    public static bool TryGet(string path, out FileStatus status)
    {
        Span<byte> buffer = stackalloc byte[StatxBufferSize];
        buffer.Clear();
        if (Statx(AtFdCwd, path, 0, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) != 0)
        {
            status = default;
            return false;
        }

        status = Decode(buffer);
        return true;
    }

    /// <summary>Stats an open handle (fstat): works after the file was renamed or unlinked.</summary>
    public static FileStatus Get(SafeFileHandle handle)
    {
        Span<byte> buffer = stackalloc byte[StatxBufferSize];
        buffer.Clear();
        var addedRef = false;
        try
        {
            handle.DangerousAddRef(ref addedRef);
            var fd = (int)handle.DangerousGetHandle();
            if (Statx(fd, string.Empty, AtEmptyPath, StatxBasicStats, ref MemoryMarshal.GetReference(buffer)) != 0)
            {
                throw new IOException($"statx on an open file failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }
        finally
        {
            if (addedRef)
            {
                handle.DangerousRelease();
            }
        }

        return Decode(buffer);
    }

    // Offsets from struct statx in <linux/stat.h>; fixed for all architectures.
    private static FileStatus Decode(ReadOnlySpan<byte> b)
    {
        var nlink = BinaryPrimitives.ReadUInt32LittleEndian(b[16..]);
        var mode = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
        var inode = BinaryPrimitives.ReadUInt64LittleEndian(b[32..]);
        var size = BinaryPrimitives.ReadInt64LittleEndian(b[40..]);
        var devMajor = BinaryPrimitives.ReadUInt32LittleEndian(b[136..]);
        var devMinor = BinaryPrimitives.ReadUInt32LittleEndian(b[140..]);
        var device = ((ulong)devMajor << 32) | devMinor;
        return new FileStatus(new FileIdentity(device, inode), size, nlink, (mode & FileTypeMask) == RegularFile);
    }
}
