using System.Buffers.Binary;
using System.IO.Hashing;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Crypto;

namespace TurboMft.Engine.Container;

/// <summary>Byte layout of container format v1 (docs/format.md, "Container format v1"). All integers little-endian.</summary>
public static class ContainerFormat
{
    /// <summary>Format version written by this build.</summary>
    public const ushort Version = 1;

    /// <summary>Fixed header length.</summary>
    public const int HeaderSize = 128;

    /// <summary>Offset and length of the wrapped data key inside the header (excluded from the trailer's AAD so keys can be re-wrapped).</summary>
    public const int WrappedKeyOffset = 32;

    /// <summary>Length of the wrapped data key field: 8 key-id bytes and a 60-byte AES-GCM blob.</summary>
    public const int WrappedKeySize = 68;

    /// <summary>Record header length; the ciphertext follows it.</summary>
    public const int RecordHeaderSize = 48;

    /// <summary>Bytes a record adds to its payload: header and tag.</summary>
    public const int RecordOverhead = RecordHeaderSize + ChunkSealer.TagSize;

    /// <summary>Length of one trailer index entry.</summary>
    public const int TrailerEntrySize = 64;

    /// <summary>Length of the trailer's fixed part before the entries.</summary>
    public const int TrailerFixedSize = 88;

    /// <summary>Fixed footer length at the very end of a completed container.</summary>
    public const int FooterSize = 32;

    /// <summary>Header magic: "TMFC" CR LF SUB LF (catches text-mode mangling, like PNG's).</summary>
    public static ReadOnlySpan<byte> HeaderMagic => [0x54, 0x4D, 0x46, 0x43, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Record magic "TMFR".</summary>
    public static ReadOnlySpan<byte> RecordMagic => "TMFR"u8;

    /// <summary>Footer magic "TMFTRAIL".</summary>
    public static ReadOnlySpan<byte> FooterMagic => "TMFTRAIL"u8;

    /// <summary>Domain tag at the start of the trailer's AAD.</summary>
    public static ReadOnlySpan<byte> TrailerAadTag => "tmftrl01"u8;

    /// <summary>Size of a pooled buffer that can hold any record of a chunk of <paramref name="chunkSize"/> bytes, rounded to 4 KiB.</summary>
    public static int BufferSizeFor(int chunkSize)
    {
        var payload = Math.Max(chunkSize, ChunkCompressor.MaxEncodedLength(chunkSize));
        return (RecordOverhead + payload + 4095) & ~4095;
    }

    /// <summary>CRC-32C used for the header, record header and footer checks.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data) => Crc32.HashToUInt32(Crc32ParameterSet.Crc32C, data);
}

/// <summary>The fixed 128-byte container header.</summary>
/// <param name="FileId">The file version this container holds.</param>
/// <param name="ChunkSize">Bytes per chunk.</param>
/// <param name="CreatedUnixMs">Creation time, Unix milliseconds.</param>
public sealed record ContainerHeader(Guid FileId, int ChunkSize, long CreatedUnixMs)
{
    /// <summary>The wrapped data key field (68 bytes).</summary>
    public required byte[] WrappedKey { get; init; }

    /// <summary>
    /// The header of a new container for <paramref name="fileId"/>: its data key <paramref name="dataKey"/> wrapped under the
    /// master key ring <paramref name="keys"/> (bound to the file id), created now.
    /// </summary>
    public static ContainerHeader Create(Guid fileId, int chunkSize, KeyRing keys, DataKey dataKey, DateTimeOffset createdAt)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var wrapped = new byte[ContainerFormat.WrappedKeySize];
        keys.Wrap(dataKey, fileId).WriteTo(wrapped);
        return new ContainerHeader(fileId, chunkSize, createdAt.ToUnixTimeMilliseconds()) { WrappedKey = wrapped };
    }

    /// <summary>Serialises the header into <paramref name="destination"/> (128 bytes).</summary>
    public void Write(Span<byte> destination)
    {
        var h = destination[..ContainerFormat.HeaderSize];
        h.Clear();
        ContainerFormat.HeaderMagic.CopyTo(h);
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], ContainerFormat.Version);
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], ContainerFormat.HeaderSize);
        BinaryPrimitives.WriteInt32LittleEndian(h[12..], ChunkSize);
        FileId.TryWriteBytes(h.Slice(16, 16), bigEndian: true, out _);
        WrappedKey.AsSpan().CopyTo(h.Slice(ContainerFormat.WrappedKeyOffset, ContainerFormat.WrappedKeySize));
        BinaryPrimitives.WriteInt64LittleEndian(h[100..], CreatedUnixMs);
        BinaryPrimitives.WriteUInt32LittleEndian(h[124..], ContainerFormat.Crc32C(h[..124]));
    }

    /// <summary>Parses and checks a header; throws <see cref="ContainerException"/> naming <paramref name="path"/>.</summary>
    public static ContainerHeader Read(ReadOnlySpan<byte> source, string path)
    {
        if (source.Length < ContainerFormat.HeaderSize || !source[..8].SequenceEqual(ContainerFormat.HeaderMagic))
        {
            throw new ContainerException(ContainerFault.NotAContainer, path, null, "the file does not start with the TurboMft container magic.");
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(source[8..]);
        if (version != ContainerFormat.Version)
        {
            throw new ContainerException(ContainerFault.UnsupportedVersion, path, null, $"format version {version} is not supported; this build reads version {ContainerFormat.Version}.");
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(source[124..]) != ContainerFormat.Crc32C(source[..124]) ||
            BinaryPrimitives.ReadUInt16LittleEndian(source[10..]) != ContainerFormat.HeaderSize)
        {
            throw new ContainerException(ContainerFault.HeaderCorrupt, path, null, "the header check failed.");
        }

        var chunkSize = BinaryPrimitives.ReadInt32LittleEndian(source[12..]);
        if (!Chunks.ChunkGeometry.IsValid(chunkSize))
        {
            throw new ContainerException(ContainerFault.HeaderCorrupt, path, null, $"chunk size {chunkSize} is not allowed.");
        }

        return new ContainerHeader(new Guid(source.Slice(16, 16), bigEndian: true), chunkSize, BinaryPrimitives.ReadInt64LittleEndian(source[100..]))
        {
            WrappedKey = source.Slice(ContainerFormat.WrappedKeyOffset, ContainerFormat.WrappedKeySize).ToArray(),
        };
    }

    /// <summary>Reads and checks the header at offset 0 of a container in an object store (or a file).</summary>
    public static ContainerHeader ReadFrom(Storage.IRandomAccessObject file)
    {
        ArgumentNullException.ThrowIfNull(file);
        Span<byte> bytes = stackalloc byte[ContainerFormat.HeaderSize];
        if (file.Read(bytes, 0) < ContainerFormat.HeaderSize)
        {
            throw new ContainerException(ContainerFault.NotAContainer, file.Name, null, $"the file is {file.Length} bytes, shorter than a container header.");
        }

        return Read(bytes, file.Name);
    }

    /// <summary>Reads and checks the header at offset 0 of an open container file.</summary>
    public static ContainerHeader ReadFrom(Microsoft.Win32.SafeHandles.SafeFileHandle file, string path)
    {
        Span<byte> bytes = stackalloc byte[ContainerFormat.HeaderSize];
        if (RandomAccess.Read(file, bytes, 0) < ContainerFormat.HeaderSize)
        {
            throw new ContainerException(ContainerFault.NotAContainer, path, null, $"the file is {RandomAccess.GetLength(file)} bytes, shorter than a container header.");
        }

        return Read(bytes, path);
    }

    /// <summary>The header bytes with the wrapped-key field zeroed: the part the trailer authenticates.</summary>
    public void WriteAuthenticatedPart(Span<byte> destination)
    {
        Write(destination);
        destination.Slice(ContainerFormat.WrappedKeyOffset, ContainerFormat.WrappedKeySize).Clear();
        destination.Slice(124, 4).Clear();
    }
}

/// <summary>One chunk's place and checks in a container: a record's header and a trailer index entry carry the same facts.</summary>
/// <param name="Index">Chunk index.</param>
/// <param name="Offset">Byte offset of the record in the container.</param>
/// <param name="StoredLength">Ciphertext (payload) length.</param>
/// <param name="PlainLength">Plaintext length.</param>
/// <param name="Encoding">Raw or LZ4.</param>
/// <param name="PlainCrc64">CRC-64/NVME of the plaintext.</param>
public readonly record struct ChunkEntry(long Index, long Offset, int StoredLength, int PlainLength, ChunkEncoding Encoding, ulong PlainCrc64)
{
    /// <summary>Total bytes the record occupies.</summary>
    public int RecordLength => ContainerFormat.RecordOverhead + StoredLength;

    /// <summary>The authenticated facts used as AES-GCM associated data.</summary>
    public ChunkRecordInfo Info => new(Index, Encoding, PlainLength, PlainCrc64);
}
