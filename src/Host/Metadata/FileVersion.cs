namespace TurboMft.Host.Metadata;

/// <summary>One committed version of a remote file: where its container lives and what it must hash to.</summary>
/// <param name="VersionId">Unique id of this version.</param>
/// <param name="Path">The canonical remote path (<c>RemotePath.Value</c>).</param>
/// <param name="Size">Plaintext length in bytes.</param>
/// <param name="ChunkSize">Chunk size the file was cut into, in bytes.</param>
/// <param name="Digest">The chunked digest, <c>sha256-tree:&lt;hex&gt;</c>.</param>
/// <param name="Sha256">The whole-file digest, <c>sha256:&lt;hex&gt;</c>, when it was computed; otherwise null.</param>
/// <param name="ObjectKey">The object store key of the version's container.</param>
/// <param name="CommittedAt">When the version was committed (stored to the millisecond, UTC).</param>
public sealed record FileVersion(
    Guid VersionId,
    string Path,
    long Size,
    int ChunkSize,
    string Digest,
    string? Sha256,
    string ObjectKey,
    DateTimeOffset CommittedAt);
