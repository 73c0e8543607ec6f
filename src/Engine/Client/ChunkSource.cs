using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Client;

/// <summary>
/// A file to upload that is read chunk by chunk at random, not from a local plaintext file: a replica read from its
/// encrypted container (<see cref="ContainerChunkSource"/>), so the plaintext never touches the disk.
/// </summary>
public interface IChunkSource : IDisposable
{
    /// <summary>Plaintext size in bytes.</summary>
    long Size { get; }

    /// <summary>The chunk size the file was cut into; the upload uses it, so the peer's <c>sha256-tree</c> equals <see cref="Digest"/>.</summary>
    int ChunkSize { get; }

    /// <summary>The file's <c>sha256-tree</c>, known before any byte is read.</summary>
    FileDigest Digest { get; }

    /// <summary>Bytes a buffer given to <see cref="IChunkSourceReader.ReadEncoded"/> must hold.</summary>
    int EncodedBufferSize { get; }

    /// <summary>The SHA-256 of chunk <paramref name="index"/>'s plaintext, known without reading it.</summary>
    ReadOnlySpan<byte> ChunkSha256(long index);

    /// <summary>A reader for one worker (readers may run in parallel; one reader is not thread-safe).</summary>
    IChunkSourceReader OpenReader();
}

/// <summary>One worker's reader of an <see cref="IChunkSource"/>.</summary>
public interface IChunkSourceReader : IDisposable
{
    /// <summary>Fills <paramref name="destination"/> (exactly the chunk's length) with chunk <paramref name="index"/>'s verified plaintext and returns its CRC-64/NVME.</summary>
    ulong ReadChunk(long index, Span<byte> destination);

    /// <summary>
    /// Puts chunk <paramref name="index"/> into <paramref name="buffer"/> (of <see cref="IChunkSource.EncodedBufferSize"/>
    /// bytes) as it travels: an LZ4 block when the source holds it compressed (so the sender neither decodes nor re-encodes
    /// it), else the plaintext. Returns where it lies in the buffer, whether it is LZ4 and the plaintext's CRC-64/NVME.
    /// </summary>
    EncodedChunk ReadEncoded(long index, Buffers.ChunkBuffer buffer);
}

/// <summary>A chunk as it travels, inside a buffer.</summary>
/// <param name="Offset">Where it starts in the buffer.</param>
/// <param name="Length">Its length.</param>
/// <param name="Lz4">Whether it is an LZ4 block (else the plaintext).</param>
/// <param name="Crc64">The plaintext's CRC-64/NVME.</param>
public readonly record struct EncodedChunk(int Offset, int Length, bool Lz4, ulong Crc64);
