using Microsoft.Win32.SafeHandles;

namespace TurboMft.Engine.Storage;

/// <summary>
/// The staging of an upload in a store several nodes share (<see cref="ObjectStoreCapabilities.SharedByNodes"/>): no handle
/// is held between calls, so that another node can commit it (the commit opens it exclusively), and every write is on the
/// store's disk before it returns (open, write, fdatasync, close: on NFS the close also publishes it to the other
/// clients), so that a chunk one node acknowledged is in the file another node commits.
/// </summary>
internal sealed class SharedStagingFile(string path, Guid id) : IStagedObject
{
    /// <inheritdoc />
    public Guid Id => id;

    /// <inheritdoc />
    public string Name => path;

    /// <inheritdoc />
    public long Length
    {
        get
        {
            using var handle = Open(FileAccess.Read);
            return RandomAccess.GetLength(handle);
        }
    }

    /// <inheritdoc />
    public int Read(Span<byte> destination, long offset)
    {
        using var handle = Open(FileAccess.Read);
        return RandomAccess.Read(handle, destination, offset);
    }

    /// <inheritdoc />
    public void Write(ReadOnlySpan<byte> source, long offset)
    {
        using var handle = Open(FileAccess.ReadWrite);
        RandomAccess.Write(handle, source, offset);
        RandomAccess.FlushToDisk(handle);
    }

    /// <inheritdoc />
    public void SetLength(long length)
    {
        using var handle = Open(FileAccess.ReadWrite);
        RandomAccess.SetLength(handle, length);
        RandomAccess.FlushToDisk(handle);
    }

    /// <inheritdoc />
    /// <remarks>Every write was durable when it returned: nothing is left to flush.</remarks>
    public void Flush()
    {
    }

    /// <inheritdoc />
    /// <remarks>No handle is held between calls: nothing to release.</remarks>
    public void Dispose()
    {
    }

    private SafeFileHandle Open(FileAccess access)
    {
        try
        {
            return File.OpenHandle(path, FileMode.Open, access, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException e)
        {
            throw new StorageException(StorageError.StagingNotFound, path, $"staging file not found: {path}; the upload was completed or aborted by another node.", e);
        }
    }
}
