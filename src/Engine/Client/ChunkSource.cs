using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Client;

/// <summary>
/// A file to upload that is read chunk by chunk at random, not from a local plaintext file: a replica read from its
/// encrypted container (<see cref="Container.ContainerChunkSource"/>), so the plaintext never touches the disk.
/// </summary>
public interface IChunkSource : IDisposable
{
    /// <summary>Plaintext size in bytes.</summary>
    long Size { get; }

    /// <summary>The chunk size the file was cut into; the upload uses it, so the peer's <c>sha256-tree</c> equals <see cref="Digest"/>.</summary>
    int ChunkSize { get; }

    /// <summary>The file's <c>sha256-tree</c>, known before any byte is read.</summary>
    FileDigest Digest { get; }

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
    /// Fills the start of <paramref name="destination"/> with chunk <paramref name="index"/> as it travels: an LZ4 block when
    /// the source holds it compressed (so the sender neither decodes nor re-encodes it), else the plaintext. Returns its length,
    /// whether it is LZ4 and the plaintext's CRC-64/NVME.
    /// </summary>
    (int Length, bool Lz4, ulong Crc64) ReadEncoded(long index, Span<byte> destination);
}
