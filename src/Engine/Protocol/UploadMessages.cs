using System.Text.Json.Serialization;

namespace TurboMft.Engine.Protocol;

// The JSON bodies of uploads (docs/protocol.md, "Resumable uploads", "One-shot files" and "Batch upload"), shared by the
// server's endpoints and TurboMftClient. Request fields are nullable so that the server can name a missing one; ids
// travel as GUIDs, times as ISO 8601, release states as their wire names (ReleaseStates).

/// <summary>Body of <c>POST /v1/uploads</c> (docs/protocol.md, "Resumable uploads"): open a session for a path, size and chunk size.</summary>
/// <param name="Path">The remote path the session commits to.</param>
/// <param name="Size">The file's plaintext length in bytes.</param>
/// <param name="ChunkSize">Its chunk size.</param>
/// <param name="Verify"><c>fast</c> (the default) or <c>sha256</c>.</param>
public sealed record OpenUploadRequest(string? Path, long? Size, int? ChunkSize, string? Verify)
{
    /// <summary>The <c>sha256-tree</c> the commit must have, when the sender knows it up front (replicas); omitted when null.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Digest { get; init; }
}

/// <summary>An upload session, as opened and as <c>GET /v1/uploads/{id}</c> reports it for resume (docs/protocol.md, "Resumable uploads").</summary>
/// <param name="Id">The session's id.</param>
/// <param name="Path">The remote path it commits to.</param>
/// <param name="Size">The declared plaintext length.</param>
/// <param name="ChunkSize">Its chunk size.</param>
/// <param name="ChunkCount">Chunks in the file.</param>
/// <param name="Verify"><c>fast</c> or <c>sha256</c>.</param>
/// <param name="State"><c>open</c>, <c>completed</c>, <c>aborted</c> or <c>expired</c>.</param>
/// <param name="ExpiresAt">When the session is aborted if nothing arrives.</param>
/// <param name="Received">The indexes of the chunks the server holds.</param>
public sealed record UploadStatus(
    Guid Id, string Path, long Size, int ChunkSize, long ChunkCount, string Verify, string State, DateTimeOffset ExpiresAt, IReadOnlyList<long> Received);

/// <summary>Answer of <c>PUT /v1/uploads/{id}/chunks/{index}</c> (docs/protocol.md, "Resumable uploads"): the chunk as stored.</summary>
/// <param name="Index">The chunk's index.</param>
/// <param name="StoredLength">Bytes stored for it (sealed, after compression).</param>
/// <param name="Encoding">How it is stored: <c>lz4-block</c> or <c>identity</c>.</param>
public sealed record StoredChunk(long Index, int StoredLength, string Encoding);

/// <summary>Body of <c>POST /v1/uploads/{id}/complete</c> (docs/protocol.md, "Resumable uploads"); <c>digest</c> is written as null when not known.</summary>
/// <param name="Digest">The <c>sha256-tree</c> the commit must have, or null.</param>
public sealed record CompleteUploadRequest(string? Digest);

/// <summary>
/// A committed version (docs/protocol.md, "Resumable uploads" and "Release states in answers"): the answer of complete, of
/// one-shot <c>PUT /v1/files/{path}</c> (which adds <see cref="Sha256"/>) and of each file of a batch. Every property is
/// written, nulls included.
/// </summary>
/// <param name="Path">The remote path.</param>
/// <param name="Size">Plaintext bytes.</param>
/// <param name="ChunkSize">The stored version's chunk size.</param>
/// <param name="Digest">Its <c>sha256-tree:…</c>.</param>
/// <param name="Sha256">The whole file's <c>sha256:…</c>, when the server computed it (one-shot and batch); else null.</param>
/// <param name="VersionId">The new version's id.</param>
/// <param name="CommittedAt">When it was committed.</param>
/// <param name="State">Its release state after the server's inline scan wait; a server before release states sends none.</param>
/// <param name="Findings">When quarantined, what the scanners found; else null.</param>
/// <param name="Origin">The provenance of a replicated version (docs/protocol.md, "Provenance headers"); else null.</param>
/// <param name="Unchanged">True when a replica's digest was already the current version and nothing was committed; else null.</param>
public sealed record CommittedVersion(
    string Path,
    long Size,
    int ChunkSize,
    string Digest,
    string? Sha256,
    Guid VersionId,
    DateTimeOffset CommittedAt,
    string? State,
    IReadOnlyList<VerdictView>? Findings,
    Provenance? Origin,
    bool? Unchanged);

/// <summary>Answer of <c>POST /v1/batch</c> (docs/protocol.md, "Batch upload"): one committed version per entry, in order.</summary>
/// <param name="Files">The committed versions.</param>
public sealed record CommittedBatch(IReadOnlyList<CommittedVersion> Files);
