namespace TurboMft.Engine.Storage;

/// <summary>What went wrong in the object store, so a caller can map it to a response without parsing messages.</summary>
public enum StorageError
{
    /// <summary>An object with that key is already committed; objects are immutable.</summary>
    ObjectExists,

    /// <summary>The staging file is gone: the upload was aborted or already committed.</summary>
    StagingNotFound,

    /// <summary>The file system has no room for the file.</summary>
    DiskFull,
}

/// <summary>A storage failure the caller must act on; the message says which file and what to do.</summary>
public sealed class StorageException : IOException
{
    /// <summary>Creates the exception for <paramref name="error"/> on <paramref name="path"/>.</summary>
    public StorageException(StorageError error, string path, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Error = error;
        Path = path;
    }

    /// <summary>The kind of failure.</summary>
    public StorageError Error { get; }

    /// <summary>The file the failure is about.</summary>
    public string Path { get; }
}
