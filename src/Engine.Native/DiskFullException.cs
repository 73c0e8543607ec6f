namespace TurboMft.Engine.Native;

/// <summary>Thrown when the file system cannot reserve the space a file needs (ENOSPC or a quota).</summary>
public sealed class DiskFullException : IOException
{
    /// <summary>Creates the exception for a failed reservation of <paramref name="requestedBytes"/> bytes for <paramref name="path"/>.</summary>
    public DiskFullException(string path, long requestedBytes, int errno)
        : base($"disk full: could not reserve {requestedBytes} bytes for {path}", errno)
    {
        Path = path;
        RequestedBytes = requestedBytes;
    }

    /// <summary>The file the space was meant for.</summary>
    public string Path { get; }

    /// <summary>The number of bytes that could not be reserved.</summary>
    public long RequestedBytes { get; }
}
