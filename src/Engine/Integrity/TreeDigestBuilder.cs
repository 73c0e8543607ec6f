using System.Buffers.Binary;
using System.Collections;
using System.Security.Cryptography;
using TurboMft.Engine.Chunks;

namespace TurboMft.Engine.Integrity;

/// <summary>
/// Builds a file's <c>sha256-tree</c> digest from per-chunk SHA-256 digests that may arrive in any order, from any thread
/// (one writer per chunk index). Specified in docs/format.md, "File digest".
/// </summary>
public sealed class TreeDigestBuilder
{
    /// <summary>The domain-separation prefix hashed first.</summary>
    public static ReadOnlySpan<byte> DomainTag => "tmf-tree-v1"u8;

    private readonly byte[] _chunkDigests;
    private readonly BitArray _present;
    private readonly Lock _presentLock = new();
    private long _remaining;

    /// <summary>Starts a tree for a file of the given geometry.</summary>
    public TreeDigestBuilder(ChunkGeometry geometry)
    {
        Geometry = geometry;
        if (geometry.ChunkCount > int.MaxValue / SHA256.HashSizeInBytes)
        {
            throw new ArgumentException($"A file of {geometry.FileSize} bytes has too many chunks of {geometry.ChunkSize} bytes; use a larger chunk size.");
        }

        _chunkDigests = new byte[geometry.ChunkCount * SHA256.HashSizeInBytes];
        _present = new BitArray((int)geometry.ChunkCount);
        _remaining = geometry.ChunkCount;
    }

    /// <summary>The file's size and chunk size.</summary>
    public ChunkGeometry Geometry { get; }

    /// <summary>True when every chunk digest has been supplied.</summary>
    public bool IsComplete => Interlocked.Read(ref _remaining) == 0;

    /// <summary>Hashes the plaintext of chunk <paramref name="index"/> and records it; returns the chunk's SHA-256 slot.</summary>
    public ReadOnlySpan<byte> AddChunk(long index, ReadOnlySpan<byte> plaintext)
    {
        if (plaintext.Length != Geometry.LengthOf(index))
        {
            throw new ArgumentException($"Chunk {index} holds {plaintext.Length} bytes; the file geometry expects {Geometry.LengthOf(index)}.", nameof(plaintext));
        }

        var slot = Slot(index);
        SHA256.HashData(plaintext, slot);
        MarkPresent(index);
        return slot;
    }

    /// <summary>Records an already computed SHA-256 of chunk <paramref name="index"/>.</summary>
    public void SetChunkDigest(long index, ReadOnlySpan<byte> sha256)
    {
        if (sha256.Length != SHA256.HashSizeInBytes)
        {
            throw new ArgumentException("A chunk digest is 32 bytes.", nameof(sha256));
        }

        sha256.CopyTo(Slot(index));
        MarkPresent(index);
    }

    /// <summary>The recorded SHA-256 of chunk <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetChunkDigest(long index) => Slot(index);

    /// <summary>Computes the file digest; every chunk must have been supplied.</summary>
    public FileDigest Finish()
    {
        if (!IsComplete)
        {
            throw new InvalidOperationException($"The tree digest is missing {Interlocked.Read(ref _remaining)} of {Geometry.ChunkCount} chunk digests.");
        }

        return Compute(Geometry, _chunkDigests);
    }

    /// <summary>Computes <c>sha256-tree</c> from the concatenated chunk digests.</summary>
    public static FileDigest Compute(ChunkGeometry geometry, ReadOnlySpan<byte> concatenatedChunkDigests)
    {
        if (concatenatedChunkDigests.Length != geometry.ChunkCount * SHA256.HashSizeInBytes)
        {
            throw new ArgumentException("The chunk digests do not match the file geometry.", nameof(concatenatedChunkDigests));
        }

        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> prefix = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64BigEndian(prefix, (ulong)geometry.ChunkSize);
        BinaryPrimitives.WriteUInt64BigEndian(prefix[8..], (ulong)geometry.FileSize);
        hash.AppendData(DomainTag);
        hash.AppendData(prefix);
        hash.AppendData(concatenatedChunkDigests);
        Span<byte> result = stackalloc byte[SHA256.HashSizeInBytes];
        hash.GetHashAndReset(result);
        return new FileDigest(result);
    }

    private Span<byte> Slot(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Geometry.ChunkCount);
        return _chunkDigests.AsSpan((int)index * SHA256.HashSizeInBytes, SHA256.HashSizeInBytes);
    }

    private void MarkPresent(long index)
    {
        lock (_presentLock)
        {
            if (_present[(int)index])
            {
                return;
            }

            _present[(int)index] = true;
        }

        Interlocked.Decrement(ref _remaining);
    }
}
