using Microsoft.Win32.SafeHandles;
using TurboMft.Engine.Native;

namespace TurboMft.Engine.Storage;

/// <summary>
/// A file on the local disk as a stored object: every read and write is one positional call on its handle
/// (<see cref="RandomAccess"/>), so the port adds no copy and no system call to the byte path.
/// </summary>
internal sealed class LocalObjectFile(SafeFileHandle handle, string path, Guid id = default) : IStagedObject
{
    private const UnixFileMode OwnerOnlyFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <inheritdoc />
    public Guid Id => id;

    /// <inheritdoc />
    public string Name => path;

    /// <inheritdoc />
    public long Length => RandomAccess.GetLength(handle);

    /// <summary>
    /// Creates a new file (never overwrites; 0600 on Unix) open for writing and shared for reading, with
    /// <paramref name="reserveBytes"/> reserved (fallocate) so a full disk fails now; on failure nothing is left.
    /// </summary>
    /// <exception cref="DiskFullException">The space cannot be reserved.</exception>
    public static LocalObjectFile CreateNew(string path, long reserveBytes, Guid id = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(reserveBytes);
        var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                // Encrypted, but still nobody else's business: containers are owner-only like every file under the data root.
                File.SetUnixFileMode(handle, OwnerOnlyFile);
            }

            if (reserveBytes > 0)
            {
                FileHints.TryPreallocate(handle, reserveBytes);
            }

            return new LocalObjectFile(handle, path, id);
        }
        catch
        {
            handle.Dispose();
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Opens an existing file to continue writing it, shared for reading.</summary>
    public static LocalObjectFile OpenForWriting(string path, Guid id = default) =>
        new(File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read), path, id);

    /// <summary>Opens an existing file for reading; <paramref name="share"/> says what others may do meanwhile.</summary>
    public static LocalObjectFile OpenForReading(string path, FileShare share = FileShare.Read) =>
        new(File.OpenHandle(path, FileMode.Open, FileAccess.Read, share), path);

    /// <inheritdoc />
    public int Read(Span<byte> destination, long offset) => RandomAccess.Read(handle, destination, offset);

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> source, long offset) => RandomAccess.Write(handle, source, offset);

    /// <inheritdoc />
    public void SetLength(long length) => RandomAccess.SetLength(handle, length);

    /// <inheritdoc />
    public void Flush()
    {
        RandomAccess.FlushToDisk(handle);

        // Written and durable: drop it from the page cache so a multi-GB store does not evict hotter data.
        FileHints.DontNeed(handle, 0, 0);
    }

    /// <inheritdoc />
    public void Dispose() => handle.Dispose();
}
