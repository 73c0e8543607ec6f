namespace TurboMft.Engine.Client;

/// <summary>Body of <c>POST /v1/uploads</c> (docs/protocol.md, "Resumable uploads").</summary>
internal sealed record UploadOpenRequest(string Path, long Size, int ChunkSize, string Verify);

/// <summary>An upload session as the server reports it.</summary>
internal sealed record UploadStatus(string Id, string Path, long Size, int ChunkSize, long ChunkCount, string? Verify, string? State, long[]? Received);

/// <summary>Body of <c>POST /v1/uploads/{id}/complete</c>.</summary>
internal sealed record UploadCompleteRequest(string? Digest);

/// <summary>A committed version, as returned by complete and by one-shot PUT (which adds <see cref="Sha256"/>).</summary>
internal sealed record CommitResponse(string Path, long Size, int ChunkSize, string Digest, string? VersionId, string? Sha256);

/// <summary>Body of <c>GET /v1/files?prefix=</c>.</summary>
internal sealed record ListResponse(List<RemoteFile>? Files);
