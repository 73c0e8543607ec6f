using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace TurboMft.Engine.Native;

/// <summary>The Linux libc entry points the engine calls; every P/Invoke of the solution lives here.</summary>
/// <remarks>
/// A <see cref="SafeFileHandle"/> argument is marshalled with AddRef/Release around the call and passed as a
/// pointer-sized integer, whose low 32 bits are the <c>int fd</c> the C function reads (x64 and Arm64 ABIs).
/// The <c>long</c> offsets assume a 64-bit <c>off_t</c>, so callers check <see cref="Environment.Is64BitProcess"/>.
/// </remarks>
internal static partial class LibC
{
    private const string Library = "libc";

    internal const int FadviseSequential = 2;
    internal const int FadviseDontNeed = 4;

    // errno values of asm-generic, shared by x64 and Arm64 Linux.
    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int EINTR = 4;
    internal const int ENODEV = 19;
    internal const int ENOTDIR = 20;
    internal const int EACCES = 13;
    internal const int EEXIST = 17;
    internal const int EXDEV = 18;
    internal const int EINVAL = 22;
    internal const int ENOSPC = 28;
    internal const int ESPIPE = 29;
    internal const int ENOSYS = 38;
    internal const int EOPNOTSUPP = 95;
    internal const int EDQUOT = 122;

    internal const int AtCurrentDirectory = -100;
    internal const uint RenameNoReplace = 1;

    internal const int OpenReadOnly = 0;
    internal const int OpenCloseOnExec = 0x80000;

    /// <summary>O_DIRECTORY differs between architectures (0200000 on x64, 040000 on Arm and POWER).</summary>
    internal static int OpenDirectory => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le => 0x4000,
        _ => 0x10000,
    };

    /// <summary>posix_fadvise returns the error number instead of setting errno.</summary>
    [LibraryImport(Library, EntryPoint = "posix_fadvise")]
    internal static partial int PosixFadvise(SafeFileHandle fd, long offset, long length, int advice);

    [LibraryImport(Library, EntryPoint = "fallocate", SetLastError = true)]
    internal static partial int Fallocate(SafeFileHandle fd, int mode, long offset, long length);

    [LibraryImport(Library, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Open(string path, int flags, int mode);

    /// <summary>renameat2 is in glibc since 2.28; older C libraries lack the entry point.</summary>
    [LibraryImport(Library, EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    [LibraryImport(Library, EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Link(string oldPath, string newPath);

    [LibraryImport(Library, EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int Unlink(string path);

    [LibraryImport(Library, EntryPoint = "fsync", SetLastError = true)]
    internal static partial int FSync(int fd);

    /// <summary>syncfs(2), Linux 2.6.39+: writes back the whole file system holding <paramref name="fd"/>; reports write-back errors since 5.8.</summary>
    [LibraryImport(Library, EntryPoint = "syncfs", SetLastError = true)]
    internal static partial int SyncFs(int fd);

    [LibraryImport(Library, EntryPoint = "close", SetLastError = true)]
    internal static partial int Close(int fd);

    /// <summary>The exception .NET itself would throw for <paramref name="errno"/> on <paramref name="path"/>.</summary>
    internal static Exception ExceptionFor(int errno, string path, string operation)
    {
        var reason = Marshal.GetPInvokeErrorMessage(errno);
        return errno switch
        {
            ENOENT => new DirectoryNotFoundException($"{operation} failed: '{path}' does not exist ({reason})."),
            ENOTDIR => new DirectoryNotFoundException($"{operation} failed: '{path}' is not a directory ({reason})."),
            EACCES or EPERM => new UnauthorizedAccessException($"{operation} failed: access to '{path}' is denied ({reason})."),
            _ => new IOException($"{operation} failed for '{path}': {reason} (errno {errno}).", errno),
        };
    }
}
