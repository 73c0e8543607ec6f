using System.Runtime.InteropServices;

namespace TurboMft.Engine.Native;

/// <summary>File-system operations that make a commit survive power loss, and owner-only permissions for secrets.</summary>
public static class DurableFileSystem
{
    private const UnixFileMode OwnerReadWrite = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>
    /// Flushes a directory's entries to disk (open O_DIRECTORY + fsync on Linux): a rename or a new file is durable only after
    /// its directory is flushed. No-op on other systems.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist or is not a directory.</exception>
    /// <exception cref="IOException">The flush failed; the directory's recent changes may not be durable.</exception>
    public static void FlushDirectory(string directoryPath) =>
        // EINVAL: this file system has no directory sync (e.g. some FUSE mounts); there is nothing more to do.
        FlushThrough(directoryPath, LibC.FSync, "fsync of directory", tolerated: LibC.EINVAL);

    /// <summary>
    /// Flushes everything written to the file system holding <paramref name="directoryPath"/> (syncfs on Linux): the data and
    /// directory entries of many files made durable with one call, where fsync per file would cost one disk flush each. A
    /// no-op on other systems.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The directory does not exist or is not a directory.</exception>
    /// <exception cref="IOException">The flush failed; recent writes on that file system may not be durable.</exception>
    public static void FlushFileSystem(string directoryPath) => FlushThrough(directoryPath, LibC.SyncFs, "syncfs", tolerated: 0);

    /// <summary>Opens the directory, calls <paramref name="flush"/> on its descriptor and closes it; errno <paramref name="tolerated"/> is not an error.</summary>
    private static void FlushThrough(string directoryPath, Func<int, int> flush, string operation, int tolerated)
    {
        ArgumentException.ThrowIfNullOrEmpty(directoryPath);
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var path = Path.GetFullPath(directoryPath);
        var fd = OpenDirectory(path);
        try
        {
            if (flush(fd) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != tolerated)
            {
                throw LibC.ExceptionFor(errno, path, operation);
            }
        }
        finally
        {
            // Not retried on EINTR: on Linux the descriptor is released even when close reports it.
            _ = LibC.Close(fd);
        }
    }

    /// <summary>
    /// Renames a file unless the destination exists, atomically: renameat2(RENAME_NOREPLACE) on Linux, link + unlink where the
    /// file system lacks it. Returns false, leaving both files untouched, when the destination exists. Both paths must be on
    /// one file system. Elsewhere it uses <see cref="File.Move(string, string, bool)"/> without overwrite.
    /// </summary>
    /// <exception cref="FileNotFoundException">The source or the destination's directory does not exist.</exception>
    /// <exception cref="IOException">The rename failed for another reason, named in the message.</exception>
    public static bool TryMoveNoReplace(string sourcePath, string destinationPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(sourcePath);
        ArgumentException.ThrowIfNullOrEmpty(destinationPath);
        var source = Path.GetFullPath(sourcePath);
        var destination = Path.GetFullPath(destinationPath);
        if (!OperatingSystem.IsLinux())
        {
            return MovePortably(source, destination);
        }

        var errno = RenameNoReplace(source, destination);
        if (errno is LibC.EINVAL or LibC.ENOSYS)
        {
            // The file system (or an old kernel or C library) has no RENAME_NOREPLACE; link fails atomically on an existing name too.
            errno = LinkThenUnlink(source, destination);
        }

        return errno switch
        {
            0 => true,
            LibC.EEXIST => false,
            LibC.ENOENT => throw new FileNotFoundException(
                $"move failed: '{source}' or the directory of '{destination}' does not exist.", source),
            _ => throw LibC.ExceptionFor(errno, source, $"move to '{destination}'"),
        };
    }

    /// <summary>Restricts a file to its owner: mode 0600 (read and write for the owner, nothing for group and others).</summary>
    /// <exception cref="PlatformNotSupportedException">On Windows, where owner-only access needs ACLs, which this does not set.</exception>
    public static void SetOwnerOnly(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException($"cannot restrict '{path}' to its owner: Windows ACLs are not supported.");
        }

        File.SetUnixFileMode(path, OwnerReadWrite);
    }

    /// <summary>True when no group or other permission bit is set on the file (a secret readable only by its owner).</summary>
    /// <exception cref="PlatformNotSupportedException">On Windows, where permissions are ACLs.</exception>
    public static bool IsOwnerOnly(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException($"cannot check whether '{path}' is owner-only: Windows ACLs are not supported.");
        }

        return (File.GetUnixFileMode(path) & GroupOrOther) == 0;
    }

    /// <summary>
    /// Creates a new file that is 0600 from its first byte (no window in which it is readable by others), for key and token files.
    /// </summary>
    /// <exception cref="IOException">The file already exists.</exception>
    public static FileStream CreateOwnerOnly(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException($"cannot create '{path}' owner-only: Windows ACLs are not supported.");
        }

        return new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            UnixCreateMode = OwnerReadWrite,
        });
    }

    private static int RenameNoReplace(string source, string destination)
    {
        try
        {
            return LibC.RenameAt2(LibC.AtCurrentDirectory, source, LibC.AtCurrentDirectory, destination, LibC.RenameNoReplace) == 0
                ? 0
                : Marshal.GetLastPInvokeError();
        }
        catch (EntryPointNotFoundException)
        {
            return LibC.ENOSYS;
        }
    }

    internal static int LinkThenUnlink(string source, string destination)
    {
        if (LibC.Link(source, destination) != 0)
        {
            return Marshal.GetLastPInvokeError();
        }

        // A crash here leaves the source as a second name of the committed file; the caller's cleanup removes it.
        return LibC.Unlink(source) == 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    private static bool MovePortably(string source, string destination)
    {
        if (File.Exists(destination))
        {
            return false;
        }

        File.Move(source, destination, overwrite: false);
        return true;
    }

    private static int OpenDirectory(string path)
    {
        while (true)
        {
            var fd = LibC.Open(path, LibC.OpenReadOnly | LibC.OpenDirectory | LibC.OpenCloseOnExec, 0);
            if (fd >= 0)
            {
                return fd;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno != LibC.EINTR)
            {
                throw LibC.ExceptionFor(errno, path, "open of directory");
            }
        }
    }
}
