using System.Buffers.Binary;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Crypto;

namespace TurboMft.Engine.Container;

/// <summary>Reads and writes the 48-byte header of a sealed chunk record (docs/format.md, "Chunk record").</summary>
internal static class ChunkRecord
{
    public const int NonceOffset = 32;
    private const int CheckedLength = 44;

    /// <summary>Span where the sealer writes the record's nonce, before <see cref="WriteHeader"/> completes the header.</summary>
    public static Span<byte> Nonce(Span<byte> record) => record.Slice(NonceOffset, ChunkSealer.NonceSize);

    /// <summary>Writes every header field except the nonce (already in place), then the header check.</summary>
    public static void WriteHeader(Span<byte> record, in ChunkEntry entry)
    {
        ContainerFormat.RecordMagic.CopyTo(record);
        record[4] = (byte)entry.Encoding;
        record.Slice(5, 3).Clear();
        BinaryPrimitives.WriteInt64LittleEndian(record[8..], entry.Index);
        BinaryPrimitives.WriteInt32LittleEndian(record[16..], entry.PlainLength);
        BinaryPrimitives.WriteInt32LittleEndian(record[20..], entry.StoredLength);
        BinaryPrimitives.WriteUInt64LittleEndian(record[24..], entry.PlainCrc64);
        BinaryPrimitives.WriteUInt32LittleEndian(record[CheckedLength..], ContainerFormat.Crc32C(record[..CheckedLength]));
    }

    /// <summary>Parses a record header found at <paramref name="offset"/>; false if the magic or check does not match.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, long offset, out ChunkEntry entry)
    {
        entry = default;
        if (header.Length < ContainerFormat.RecordHeaderSize ||
            !header[..4].SequenceEqual(ContainerFormat.RecordMagic) ||
            BinaryPrimitives.ReadUInt32LittleEndian(header[CheckedLength..]) != ContainerFormat.Crc32C(header[..CheckedLength]))
        {
            return false;
        }

        var encoding = (ChunkEncoding)header[4];
        var index = BinaryPrimitives.ReadInt64LittleEndian(header[8..]);
        var plain = BinaryPrimitives.ReadInt32LittleEndian(header[16..]);
        var stored = BinaryPrimitives.ReadInt32LittleEndian(header[20..]);
        if (encoding is not (ChunkEncoding.Raw or ChunkEncoding.Lz4) || index < 0 || plain < 0 || stored < 0 ||
            plain > Chunks.ChunkGeometry.MaxChunkSize || stored > ChunkCompressor.MaxEncodedLength(Chunks.ChunkGeometry.MaxChunkSize))
        {
            return false;
        }

        entry = new ChunkEntry(index, offset, stored, plain, encoding, BinaryPrimitives.ReadUInt64LittleEndian(header[24..]));
        return true;
    }
}
