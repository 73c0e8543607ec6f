using System.Buffers.Binary;
using System.Security.Cryptography;
using TurboMft.Engine.Compression;

namespace TurboMft.Engine.Crypto;

/// <summary>
/// AES-256-GCM for chunk records. One instance per worker (AesGcm is not thread-safe on Linux). Every record gets a
/// random 96-bit nonce, and its associated data binds the file id, chunk index, lengths, encoding and plaintext CRC,
/// so a record cannot be swapped, moved to another file or truncated unnoticed (docs/format.md, "Record AAD").
/// </summary>
public sealed class ChunkSealer : IDisposable
{
    /// <summary>Nonce length in bytes.</summary>
    public const int NonceSize = 12;

    /// <summary>Authentication tag length in bytes.</summary>
    public const int TagSize = 16;

    /// <summary>Length of the associated data built for each record.</summary>
    public const int AssociatedDataSize = 8 + 16 + 8 + 1 + 4 + 4 + 8;

    private readonly AesGcm _aes;
    private readonly Guid _fileId;

    /// <summary>Creates a sealer for the file <paramref name="fileId"/> under its data key.</summary>
    public ChunkSealer(DataKey key, Guid fileId)
    {
        ArgumentNullException.ThrowIfNull(key);
        _aes = new AesGcm(key.Bytes, TagSize);
        _fileId = fileId;
    }

    /// <summary>The file whose records this sealer seals and opens.</summary>
    public Guid FileId => _fileId;

    /// <summary>
    /// Encrypts <paramref name="payload"/> into <paramref name="ciphertext"/> (the same span or a non-overlapping one),
    /// fills <paramref name="nonce"/> with fresh random bytes and writes the tag.
    /// </summary>
    public void Seal(in ChunkRecordInfo record, ReadOnlySpan<byte> payload, Span<byte> ciphertext, Span<byte> nonce, Span<byte> tag)
    {
        RandomNumberGenerator.Fill(nonce[..NonceSize]);
        Span<byte> aad = stackalloc byte[AssociatedDataSize];
        WriteAssociatedData(record, payload.Length, aad);
        _aes.Encrypt(nonce[..NonceSize], payload, ciphertext[..payload.Length], tag[..TagSize], aad);
    }

    /// <summary>
    /// Decrypts and authenticates a record. Returns false, with <paramref name="payload"/> zeroed, when the tag does not
    /// verify (tampered bytes, wrong key, or a record that belongs to another file or index).
    /// </summary>
    public bool TryOpen(in ChunkRecordInfo record, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> tag, Span<byte> payload)
    {
        Span<byte> aad = stackalloc byte[AssociatedDataSize];
        WriteAssociatedData(record, ciphertext.Length, aad);
        try
        {
            _aes.Decrypt(nonce[..NonceSize], ciphertext, tag[..TagSize], payload[..ciphertext.Length], aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            CryptographicOperations.ZeroMemory(payload[..ciphertext.Length]);
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _aes.Dispose();

    private void WriteAssociatedData(in ChunkRecordInfo record, int storedLength, Span<byte> aad)
    {
        "tmfrec01"u8.CopyTo(aad);
        _fileId.TryWriteBytes(aad.Slice(8, 16), bigEndian: true, out _);
        BinaryPrimitives.WriteInt64LittleEndian(aad.Slice(24, 8), record.Index);
        aad[32] = (byte)record.Encoding;
        BinaryPrimitives.WriteInt32LittleEndian(aad.Slice(33, 4), record.PlainLength);
        BinaryPrimitives.WriteInt32LittleEndian(aad.Slice(37, 4), storedLength);
        BinaryPrimitives.WriteUInt64LittleEndian(aad.Slice(41, 8), record.PlainCrc64);
    }
}

/// <summary>What a sealed chunk record says about itself: all of it is authenticated.</summary>
/// <param name="Index">Chunk index in the file.</param>
/// <param name="Encoding">Raw or LZ4.</param>
/// <param name="PlainLength">Plaintext length in bytes.</param>
/// <param name="PlainCrc64">CRC-64/NVME of the plaintext.</param>
public readonly record struct ChunkRecordInfo(long Index, ChunkEncoding Encoding, int PlainLength, ulong PlainCrc64);
