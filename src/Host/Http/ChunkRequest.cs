using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using TurboMft.Engine.Chunks;
using TurboMft.Engine.Compression;
using TurboMft.Engine.Integrity;
using TurboMft.Engine.Protocol;
using TurboMft.Host.Ingest;
using TurboMft.Host.Metadata;

namespace TurboMft.Host.Http;

/// <summary>
/// The headers of a chunk PUT (docs/protocol.md, "Upload a chunk"): its body's length and coding, and what the sender
/// declares of it (CRC-64, and the SHA-256s of Content-Digest and Repr-Digest).
/// </summary>
/// <param name="Length">The body's length (Content-Length).</param>
/// <param name="Encoding">Raw or one LZ4 block.</param>
/// <param name="Claims">The declared CRC and digests.</param>
internal readonly record struct ChunkRequest(int Length, ChunkEncoding Encoding, ChunkClaims Claims)
{
    /// <summary>Parses the headers of chunk <paramref name="index"/> of <paramref name="session"/>; null with the 4xx answer if they are not acceptable.</summary>
    public static IResult? TryParse(HttpRequest request, UploadSession session, ChunkGeometry geometry, long index, out ChunkRequest chunk)
    {
        chunk = default;
        if (index < 0 || index >= geometry.ChunkCount)
        {
            return Problems.BadRequest("chunk-index-out-of-range", $"Chunk {index} does not exist: the file has {geometry.ChunkCount} chunks (0 to {geometry.ChunkCount - 1}).");
        }

        if (request.ContentLength is not { } length)
        {
            return Problems.Result(StatusCodes.Status411LengthRequired, "length-required", "Length required", "A chunk PUT needs Content-Length.");
        }

        var plainLength = geometry.LengthOf(index);
        var encoding = request.Headers.ContentEncoding.ToString() switch
        {
            "" or "identity" => ChunkEncoding.Raw,
            ProtocolHeaders.Lz4BlockCoding => ChunkEncoding.Lz4,
            _ => (ChunkEncoding?)null,
        };
        if (encoding is null)
        {
            return Problems.Result(StatusCodes.Status415UnsupportedMediaType, "unsupported-encoding", "Unsupported content coding", $"Content-Encoding must be absent or {ProtocolHeaders.Lz4BlockCoding}.");
        }

        var maxLength = encoding == ChunkEncoding.Raw ? plainLength : ChunkCompressor.MaxEncodedLength(plainLength);
        if (length > maxLength || (encoding == ChunkEncoding.Raw && length != plainLength))
        {
            return Problems.BadRequest("chunk-too-large", $"Chunk {index} holds {plainLength} bytes; a {(encoding == ChunkEncoding.Raw ? "raw" : "LZ4")} body of {length} bytes cannot be it.");
        }

        if (!ChunkCrc.TryParse(request.Headers[ProtocolHeaders.ChunkCrc64].ToString(), out var crc))
        {
            return Problems.BadRequest("missing-crc", $"{ProtocolHeaders.ChunkCrc64} must carry the plaintext's CRC-64/NVME as 16 hex digits.");
        }

        var reprDigest = new byte[SHA256.HashSizeInBytes];
        var hasRepr = DigestFields.TryGetSha256(request.Headers[ProtocolHeaders.ReprDigest], reprDigest);
        if (session.VerifyMode == "sha256" && !hasRepr)
        {
            return Problems.BadRequest("digest-required", "This upload verifies with sha256: send Repr-Digest: sha-256=:<base64 of the chunk's SHA-256>:.");
        }

        var contentDigest = new byte[SHA256.HashSizeInBytes];
        var hasContent = DigestFields.TryGetSha256(request.Headers[ProtocolHeaders.ContentDigest], contentDigest);
        chunk = new ChunkRequest((int)length, encoding.Value, new ChunkClaims(crc, hasContent ? contentDigest : null, hasRepr ? reprDigest : null));
        return null;
    }
}
