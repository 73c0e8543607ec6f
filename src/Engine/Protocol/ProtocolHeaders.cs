namespace TurboMft.Engine.Protocol;

/// <summary>Header names and values of the HTTP protocol (docs/protocol.md).</summary>
public static class ProtocolHeaders
{
    /// <summary>CRC-64/NVME of a chunk's plaintext, 16 lowercase hex digits.</summary>
    public const string ChunkCrc64 = "TMF-Chunk-CRC64";

    /// <summary>A file's <c>sha256-tree</c> on downloads.</summary>
    public const string Digest = "TMF-Digest";

    /// <summary>
    /// The release state of the path's current version (<c>released</c>, <c>pending-scan</c>, <c>pending-approval</c>,
    /// <c>quarantined</c>, <c>rejected</c>) on downloads and on their 409 answers, so that HEAD, which has no body, says why.
    /// </summary>
    public const string ReleaseState = "TMF-Release-State";

    /// <summary>The chunk size of the stored version, on downloads.</summary>
    public const string ChunkSize = "TMF-Chunk-Size";

    /// <summary>The content coding of an LZ4-block chunk body.</summary>
    public const string Lz4BlockCoding = "lz4-block";

    /// <summary>RFC 9530 digest of the representation (the plaintext, before content coding).</summary>
    public const string ReprDigest = "Repr-Digest";

    /// <summary>RFC 9530 digest of the content as sent.</summary>
    public const string ContentDigest = "Content-Digest";
}
