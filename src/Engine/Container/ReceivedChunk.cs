using System.Security.Cryptography;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Integrity;

namespace TurboMft.Engine.Container;

/// <summary>The outcome of checking a received chunk against what its sender declared.</summary>
public enum ChunkCheck
{
    /// <summary>Every declared value matches: the chunk may be sealed.</summary>
    Verified,

    /// <summary>The LZ4 block does not decode to the chunk's length.</summary>
    Undecodable,

    /// <summary>The body (as sent, before decoding) does not match its <c>Content-Digest</c>.</summary>
    BodyDigestMismatch,

    /// <summary>The plaintext does not match its CRC-64/NVME.</summary>
    CrcMismatch,

    /// <summary>The plaintext does not match its <c>Repr-Digest</c> (SHA-256).</summary>
    PlaintextDigestMismatch,
}

/// <summary>
/// The receiving side of a chunk (docs/protocol.md, "Upload a chunk"), the mirror of the client's hashing reader: decodes
/// an encoded body and checks it against what the sender declared, cheapest check first, before anything is sealed.
/// </summary>
public static class ReceivedChunk
{
    /// <summary>
    /// Verifies <paramref name="body"/>: decodes it into <paramref name="decodeInto"/> when it is LZ4 (raw bodies are their
    /// own plaintext), then checks the body's SHA-256 against <paramref name="bodySha256"/> (empty: not declared), the
    /// plaintext's CRC-64/NVME against <paramref name="expectedCrc"/> (null: computed, not checked) and its SHA-256 against
    /// <paramref name="plainSha256"/> (empty: not declared). The plaintext's SHA-256 is written to <paramref name="sha256"/>
    /// and its CRC to <paramref name="crc"/> whatever the outcome up to the check that failed; <paramref name="detail"/>
    /// names an undecodable block's fault. Digests are compared in constant time.
    /// </summary>
    public static ChunkCheck Verify(
        ChunkEncoding encoding,
        ReadOnlySpan<byte> body,
        Span<byte> decodeInto,
        ulong? expectedCrc,
        ReadOnlySpan<byte> bodySha256,
        ReadOnlySpan<byte> plainSha256,
        Span<byte> sha256,
        out ulong crc,
        out string? detail)
    {
        crc = 0;
        detail = null;
        ReadOnlySpan<byte> plain = body;
        if (encoding != ChunkEncoding.Raw)
        {
            try
            {
                ChunkCompressor.Decode(encoding, body, decodeInto);
            }
            catch (ChunkDecodeException e)
            {
                detail = e.Message;
                return ChunkCheck.Undecodable;
            }

            plain = decodeInto;
        }

        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        if (!bodySha256.IsEmpty)
        {
            SHA256.HashData(body, hash);
            if (!CryptographicOperations.FixedTimeEquals(hash, bodySha256))
            {
                return ChunkCheck.BodyDigestMismatch;
            }
        }

        crc = ChunkCrc.Compute(plain);
        if (expectedCrc is { } declared && crc != declared)
        {
            return ChunkCheck.CrcMismatch;
        }

        SHA256.HashData(plain, sha256);
        return !plainSha256.IsEmpty && !CryptographicOperations.FixedTimeEquals(sha256, plainSha256)
            ? ChunkCheck.PlaintextDigestMismatch
            : ChunkCheck.Verified;
    }
}
