namespace TurboMft.Engine.Client;

/// <summary>Body of <c>POST /v1/uploads</c> (docs/protocol.md, "Resumable uploads").</summary>
internal sealed record UploadOpenRequest(string Path, long Size, int ChunkSize, string Verify)
{
    /// <summary>The <c>sha256-tree</c> the commit must have, when the sender knows it up front (replicas); omitted when null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Digest { get; init; }
}

/// <summary>An upload session as the server reports it.</summary>
internal sealed record UploadStatus(string Id, string Path, long Size, int ChunkSize, long ChunkCount, string? Verify, string? State, long[]? Received);

/// <summary>Body of <c>POST /v1/uploads/{id}/complete</c>.</summary>
internal sealed record UploadCompleteRequest(string? Digest);

/// <summary>
/// A committed version, as returned by complete and by one-shot PUT (which adds <see cref="Sha256"/>), with its release
/// <see cref="State"/> after the server's inline scan wait and, when quarantined, the <see cref="Findings"/>; a server
/// before release states sends neither.
/// </summary>
internal sealed record CommitResponse(string Path, long Size, int ChunkSize, string Digest, string? VersionId, string? Sha256, string? State = null, IReadOnlyList<VerdictView>? Findings = null, bool? Unchanged = null)
{
    /// <summary>The file as held back, or null when it was released (or the server does not say).</summary>
    public HeldFile? Held(string remote) => State is null or ReleaseStates.Released
        ? null
        : new HeldFile(remote, State, Findings is { Count: > 0 } found ? string.Join("; ", found.Select(f => $"{f.Scanner} {f.ScannerVersion} found {f.Finding}")) : null);
}

/// <summary>Body of <c>GET /v1/files?prefix=</c>.</summary>
internal sealed record ListResponse(List<RemoteFile>? Files);
