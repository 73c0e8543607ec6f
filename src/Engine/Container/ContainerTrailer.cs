using System.Buffers.Binary;
using System.Security.Cryptography;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Crypto;
using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Container;

/// <summary>The sealed trailer (index and digests) and the fixed footer that locates it (docs/format.md, "Trailer").</summary>
internal static class ContainerTrailer
{
    private const int AadLength = 8 + ContainerFormat.HeaderSize;

    public static void WritePlain(Span<byte> plain, ChunkGeometry geometry, ChunkEntry[] entries, ReadOnlySpan<byte> digests, FileDigest digest, ReadOnlySpan<byte> wholeFileSha256)
    {
        plain.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(plain, geometry.FileSize);
        BinaryPrimitives.WriteInt32LittleEndian(plain[8..], geometry.ChunkSize);
        BinaryPrimitives.WriteUInt32LittleEndian(plain[12..], wholeFileSha256.IsEmpty ? 0u : 1u);
        BinaryPrimitives.WriteInt64LittleEndian(plain[16..], entries.Length);
        digest.Bytes.CopyTo(plain[24..]);
        if (!wholeFileSha256.IsEmpty)
        {
            wholeFileSha256[..SHA256.HashSizeInBytes].CopyTo(plain[56..]);
        }

        var at = ContainerFormat.TrailerFixedSize;
        for (var i = 0; i < entries.Length; i++, at += ContainerFormat.TrailerEntrySize)
        {
            var e = plain.Slice(at, ContainerFormat.TrailerEntrySize);
            BinaryPrimitives.WriteInt64LittleEndian(e, entries[i].Offset);
            BinaryPrimitives.WriteInt32LittleEndian(e[8..], entries[i].StoredLength);
            BinaryPrimitives.WriteInt32LittleEndian(e[12..], entries[i].PlainLength);
            e[16] = (byte)entries[i].Encoding;
            BinaryPrimitives.WriteUInt64LittleEndian(e[24..], entries[i].PlainCrc64);
            digests.Slice(i * SHA256.HashSizeInBytes, SHA256.HashSizeInBytes).CopyTo(e[32..]);
        }
    }

    public static void Seal(DataKey key, ContainerHeader header, ReadOnlySpan<byte> plain, Span<byte> output)
    {
        Span<byte> aad = stackalloc byte[AadLength];
        WriteAad(header, aad);
        using var aes = new AesGcm(key.Bytes, ChunkSealer.TagSize);
        var nonce = output[..ChunkSealer.NonceSize];
        RandomNumberGenerator.Fill(nonce);
        aes.Encrypt(nonce, plain, output.Slice(ChunkSealer.NonceSize, plain.Length), output.Slice(ChunkSealer.NonceSize + plain.Length, ChunkSealer.TagSize), aad);
    }

    public static bool TryOpen(DataKey key, ContainerHeader header, ReadOnlySpan<byte> sealedTrailer, Span<byte> plain)
    {
        Span<byte> aad = stackalloc byte[AadLength];
        WriteAad(header, aad);
        using var aes = new AesGcm(key.Bytes, ChunkSealer.TagSize);
        var length = sealedTrailer.Length - ChunkSealer.NonceSize - ChunkSealer.TagSize;
        try
        {
            aes.Decrypt(sealedTrailer[..ChunkSealer.NonceSize], sealedTrailer.Slice(ChunkSealer.NonceSize, length), sealedTrailer[^ChunkSealer.TagSize..], plain[..length], aad);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
    }

    public static void WriteFooter(Span<byte> footer, long trailerOffset, int sealedLength)
    {
        footer.Clear();
        BinaryPrimitives.WriteInt64LittleEndian(footer, trailerOffset);
        BinaryPrimitives.WriteInt32LittleEndian(footer[8..], sealedLength);
        ContainerFormat.FooterMagic.CopyTo(footer[16..]);
        BinaryPrimitives.WriteUInt32LittleEndian(footer[24..], ContainerFormat.Version);
        BinaryPrimitives.WriteUInt32LittleEndian(footer[28..], ContainerFormat.Crc32C(footer[..28]));
    }

    public static bool TryReadFooter(ReadOnlySpan<byte> footer, long fileLength, out long trailerOffset, out int sealedLength)
    {
        trailerOffset = BinaryPrimitives.ReadInt64LittleEndian(footer);
        sealedLength = BinaryPrimitives.ReadInt32LittleEndian(footer[8..]);
        return footer[16..24].SequenceEqual(ContainerFormat.FooterMagic) &&
            BinaryPrimitives.ReadUInt32LittleEndian(footer[28..]) == ContainerFormat.Crc32C(footer[..28]) &&
            trailerOffset >= ContainerFormat.HeaderSize &&
            sealedLength >= ChunkSealer.NonceSize + ContainerFormat.TrailerFixedSize + ChunkSealer.TagSize &&
            trailerOffset + sealedLength + ContainerFormat.FooterSize == fileLength;
    }

    /// <summary>Parses an opened trailer into geometry, entries and digests; false if its fields are inconsistent.</summary>
    public static bool TryParse(ReadOnlySpan<byte> plain, int headerChunkSize, out TrailerContents contents)
    {
        contents = default;
        var fileSize = BinaryPrimitives.ReadInt64LittleEndian(plain);
        var chunkSize = BinaryPrimitives.ReadInt32LittleEndian(plain[8..]);
        var flags = BinaryPrimitives.ReadUInt32LittleEndian(plain[12..]);
        var count = BinaryPrimitives.ReadInt64LittleEndian(plain[16..]);
        if (chunkSize != headerChunkSize || fileSize < 0 || !ChunkGeometry.IsValid(chunkSize))
        {
            return false;
        }

        var geometry = new ChunkGeometry(fileSize, chunkSize);
        if (count != geometry.ChunkCount || plain.Length != ContainerFormat.TrailerFixedSize + (count * ContainerFormat.TrailerEntrySize))
        {
            return false;
        }

        var entries = new ChunkEntry[count];
        var digests = new byte[count * SHA256.HashSizeInBytes];
        var at = ContainerFormat.TrailerFixedSize;
        for (var i = 0; i < count; i++, at += ContainerFormat.TrailerEntrySize)
        {
            var e = plain.Slice(at, ContainerFormat.TrailerEntrySize);
            entries[i] = new ChunkEntry(
                i,
                BinaryPrimitives.ReadInt64LittleEndian(e),
                BinaryPrimitives.ReadInt32LittleEndian(e[8..]),
                BinaryPrimitives.ReadInt32LittleEndian(e[12..]),
                (ChunkEncoding)e[16],
                BinaryPrimitives.ReadUInt64LittleEndian(e[24..]));
            e.Slice(32, SHA256.HashSizeInBytes).CopyTo(digests.AsSpan(i * SHA256.HashSizeInBytes));
        }

        contents = new TrailerContents(
            geometry,
            new FileDigest(plain.Slice(24, SHA256.HashSizeInBytes)),
            (flags & 1) != 0 ? plain.Slice(56, SHA256.HashSizeInBytes).ToArray() : null,
            entries,
            digests);
        return true;
    }

    private static void WriteAad(ContainerHeader header, Span<byte> aad)
    {
        ContainerFormat.TrailerAadTag.CopyTo(aad);
        header.WriteAuthenticatedPart(aad[8..]);
    }
}

/// <summary>What an opened trailer says.</summary>
internal readonly record struct TrailerContents(ChunkGeometry Geometry, FileDigest Digest, byte[]? WholeFileSha256, ChunkEntry[] Entries, byte[] Digests);
