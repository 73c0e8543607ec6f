namespace TurboMft.Host.Metadata;

/// <summary>
/// The server's record that one chunk of an upload arrived and was written to staging; a resumed upload sends only the
/// chunks without a receipt. Record a chunk only after its bytes are in the staging file.
/// </summary>
/// <param name="UploadId">The upload the chunk belongs to.</param>
/// <param name="Index">Chunk index, from 0.</param>
/// <param name="Offset">Offset of the chunk's record in the staging container (with the slotted layout, its slot).</param>
/// <param name="StoredLength">Bytes the chunk takes in staging (after compression and sealing).</param>
/// <param name="PlainLength">Plaintext bytes in the chunk.</param>
/// <param name="Encoding">The chunk's encoding (raw or a compression), as in the container format.</param>
/// <param name="Crc64">CRC-64/NVME of the plaintext.</param>
/// <param name="Sha256">SHA-256 of the plaintext, 32 bytes.</param>
/// <param name="ReceivedAt">When the chunk arrived (stored to the millisecond, UTC).</param>
public sealed record ChunkReceipt(
    Guid UploadId,
    long Index,
    long Offset,
    int StoredLength,
    int PlainLength,
    byte Encoding,
    ulong Crc64,
    byte[] Sha256,
    DateTimeOffset ReceivedAt);
