using TurboMft.Engine.Protocol;

namespace TurboMft.Host.Metadata;

/// <summary>An upload in progress (or finished): what is being uploaded, how it is checked, and where it is staged.</summary>
/// <param name="Id">Upload id, chosen by the server.</param>
/// <param name="Path">The canonical remote path the upload will commit to.</param>
/// <param name="Size">Declared plaintext length in bytes.</param>
/// <param name="ChunkSize">Chunk size in bytes.</param>
/// <param name="VerifyMode"><see cref="FastVerify"/> (chunk CRCs and the tree digest) or <see cref="Sha256Verify"/> (also the whole-file SHA-256).</param>
/// <param name="ExpectedDigest">The digest the client announced, if any; the commit must match it.</param>
/// <param name="StagingPath">The staging file in the object store.</param>
/// <param name="CreatedAt">When the upload was created (stored to the millisecond, UTC).</param>
/// <param name="ExpiresAt">When an upload still open is abandoned (stored to the millisecond, UTC).</param>
/// <param name="State">Where the upload is in its life.</param>
public sealed record UploadSession(
    Guid Id,
    string Path,
    long Size,
    int ChunkSize,
    string VerifyMode,
    string? ExpectedDigest,
    string StagingPath,
    DateTimeOffset CreatedAt,
    DateTimeOffset ExpiresAt,
    UploadState State)
{
    /// <summary>Who opened the session: a user name, or <c>peer:NAME</c>; null for sessions opened before this was recorded.</summary>
    public string? OpenedBy { get; init; }

    /// <summary>The provenance a replicating peer declared when it opened the session; given to the version it commits.</summary>
    public Provenance? Origin { get; init; }

    /// <summary>Verify mode: chunk CRC-64s and the <c>sha256-tree</c> digest.</summary>
    public const string FastVerify = "fast";

    /// <summary>Verify mode: as <see cref="FastVerify"/>, plus the whole-file SHA-256.</summary>
    public const string Sha256Verify = "sha256";
}
