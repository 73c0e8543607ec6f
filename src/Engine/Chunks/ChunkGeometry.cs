using System.Numerics;

namespace TurboMft.Engine.Chunks;

/// <summary>How a file of a given size divides into fixed-size chunks; the last chunk may be short.</summary>
public readonly record struct ChunkGeometry
{
    /// <summary>Smallest chunk size allowed (1 MiB).</summary>
    public const int MinChunkSize = 1 << 20;

    /// <summary>Largest chunk size allowed (64 MiB).</summary>
    public const int MaxChunkSize = 64 << 20;

    /// <summary>Default chunk size (4 MiB).</summary>
    public const int DefaultChunkSize = 4 << 20;

    /// <summary>Describes <paramref name="fileSize"/> bytes cut into chunks of <paramref name="chunkSize"/> bytes.</summary>
    public ChunkGeometry(long fileSize, int chunkSize)
    {
        Validate(chunkSize);
        ArgumentOutOfRangeException.ThrowIfNegative(fileSize);
        FileSize = fileSize;
        ChunkSize = chunkSize;
    }

    /// <summary>Total bytes in the file.</summary>
    public long FileSize { get; }

    /// <summary>Bytes per chunk (a power of two); the last chunk may hold fewer.</summary>
    public int ChunkSize { get; }

    /// <summary>Number of chunks; zero for an empty file.</summary>
    public long ChunkCount => (FileSize + ChunkSize - 1) / ChunkSize;

    /// <summary>Byte offset of chunk <paramref name="index"/> in the file.</summary>
    public long OffsetOf(long index) => index * ChunkSize;

    /// <summary>Length in bytes of chunk <paramref name="index"/>.</summary>
    public int LengthOf(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, ChunkCount);
        return (int)Math.Min(ChunkSize, FileSize - (index * ChunkSize));
    }

    /// <summary>Throws <see cref="InvalidChunkSizeException"/> unless the size is a power of two from 1 to 64 MiB.</summary>
    public static void Validate(int chunkSize)
    {
        if (!IsValid(chunkSize))
        {
            throw new InvalidChunkSizeException(chunkSize);
        }
    }

    /// <summary>True when the size is a power of two from 1 to 64 MiB.</summary>
    public static bool IsValid(long chunkSize) =>
        chunkSize is >= MinChunkSize and <= MaxChunkSize && BitOperations.IsPow2(chunkSize);
}

/// <summary>A chunk size that is not a power of two between 1 MiB and 64 MiB.</summary>
public sealed class InvalidChunkSizeException(long chunkSize)
    : ArgumentException($"Chunk size {chunkSize} bytes is not allowed: use a power of two from 1 MiB to 64 MiB (for example 4MiB).")
{
    /// <summary>The rejected size in bytes.</summary>
    public long ChunkSize { get; } = chunkSize;
}
