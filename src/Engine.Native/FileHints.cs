using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TurboMft.Engine.Native;

/// <summary>
/// Page-cache and allocation hints for large files (posix_fadvise, fallocate on Linux), so multi-GB transfers
/// neither evict the rest of the page cache nor fail half-way for lack of space. Every method returns false where unsupported.
/// </summary>
public static class FileHints
{
    /// <summary>Tells the kernel the whole file will be read sequentially (doubles read-ahead). Returns false when the hint was not taken.</summary>
    public static bool Sequential(SafeFileHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        return IsAvailable && LibC.PosixFadvise(handle, 0, 0, LibC.FadviseSequential) == 0;
    }

    /// <summary>
    /// Drops the cached pages of a byte range that will not be needed again; a <paramref name="length"/> of 0 means to the end of the file.
    /// Dirty pages are dropped only once written back, so call it after the range was flushed. Returns false when the hint was not taken.
    /// </summary>
    public static bool DontNeed(SafeFileHandle handle, long offset, long length)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        return IsAvailable && LibC.PosixFadvise(handle, offset, length, LibC.FadviseDontNeed) == 0;
    }

    /// <summary>
    /// Reserves disk blocks for the first <paramref name="length"/> bytes of the file (fallocate mode 0, so the file length grows to
    /// at least <paramref name="length"/>). Returns false when the platform or file system cannot preallocate.
    /// </summary>
    /// <exception cref="DiskFullException">The file system has not enough free space (or quota) left.</exception>
    /// <exception cref="IOException">Any other failure, with the file and the reason.</exception>
    public static bool TryPreallocate(SafeFileHandle handle, long length)
    {
        ArgumentNullException.ThrowIfNull(handle);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        if (!IsAvailable)
        {
            return false;
        }

        while (true)
        {
            if (LibC.Fallocate(handle, 0, 0, length) == 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case LibC.EINTR:
                    continue;
                case LibC.EOPNOTSUPP or LibC.ENOSYS or LibC.ENODEV or LibC.ESPIPE:
                    return false;
                case LibC.ENOSPC or LibC.EDQUOT:
                    throw new DiskFullException(DescribeHandle(handle), length, errno);
                default:
                    throw new IOException(
                        $"could not reserve {length} bytes for {DescribeHandle(handle)}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})",
                        errno);
            }
        }
    }

    // Off_t is 64-bit only in 64-bit processes; a 32-bit process would need the *64 entry points.
    private static bool IsAvailable => OperatingSystem.IsLinux() && Environment.Is64BitProcess;

    /// <summary>The path the descriptor refers to (via /proc/self/fd), for error messages; "file descriptor N" when unknown.</summary>
    internal static string DescribeHandle(SafeFileHandle handle)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            var fd = handle.DangerousGetHandle().ToInt64();
            try
            {
                return new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? $"file descriptor {fd}";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Only the message suffers when /proc is not mounted.
                return $"file descriptor {fd}";
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }
}
